// Export: COCO with RLE masks, COCO with polygons, or PNG masks, to a path on the backend's machine.
import { useState } from 'react';
import type { ExportFormat, ExportResult } from '../../../common/contracts/index.js';
import { useApp, useController } from '../state/context.js';
import { Dialog } from './Dialog.js';

const FORMATS: { id: ExportFormat; name: string; hint: string; target: string }[] = [
  {
    id: 'coco-rle',
    name: 'COCO — RLE masks',
    hint: 'instances.json with compressed RLE; loads in pycocotools byte-exact.',
    target: 'annotations.json',
  },
  {
    id: 'coco-polygons',
    name: 'COCO — polygons',
    hint: 'instances.json with polygon outlines (lossy at the pixel level).',
    target: 'annotations-polygons.json',
  },
  {
    id: 'png-masks',
    name: 'PNG masks',
    hint: 'One 16-bit instance-id PNG per image and an index.json mapping values to annotations and categories.',
    target: 'masks',
  },
];

export function ExportDialog() {
  const c = useController();
  const project = useApp((s) => s.project);
  const sep = useApp((s) => s.appInfo?.sep ?? '/');
  const [format, setFormat] = useState<ExportFormat>('coco-rle');
  const base = project ? `${project.root}${sep}export${sep}` : '';
  const [path, setPath] = useState(`${base}${FORMATS[0]!.target}`);
  const [includeProposed, setIncludeProposed] = useState(false);
  const [overwrite, setOverwrite] = useState(true);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ExportResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  const pick = (f: ExportFormat) => {
    setFormat(f);
    setPath(`${base}${FORMATS.find((x) => x.id === f)!.target}`);
    setResult(null);
  };
  const run = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    const r = await c.api.export.toPath({ format, path: path.trim(), includeProposed, overwrite });
    setBusy(false);
    if (r.ok) setResult(r.value);
    else setError(r.error.message);
  };

  return (
    <Dialog title="Export annotations" onClose={() => c.openDialog(null)} testId="export-dialog">
      <div className="formats">
        {FORMATS.map((f) => (
          <label key={f.id} className={f.id === format ? 'format active' : 'format'}>
            <input
              type="radio"
              name="format"
              checked={f.id === format}
              onChange={() => pick(f.id)}
              value={f.id}
            />
            <div>
              <div>{f.name}</div>
              <div className="muted small">{f.hint}</div>
            </div>
          </label>
        ))}
      </div>
      <label>
        {format === 'png-masks' ? 'Folder' : 'File'} (on the {project ? 'backend' : ''} machine)
        <input value={path} onChange={(e) => setPath(e.target.value)} className="mono" name="exportPath" />
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={includeProposed}
          onChange={(e) => setIncludeProposed(e.target.checked)}
        />{' '}
        Include unreviewed proposals
      </label>
      <label className="check">
        <input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite(e.target.checked)} />{' '}
        Overwrite an existing file
      </label>
      {error && <p className="error">{error}</p>}
      {result && (
        <p className="ok-text" data-testid="export-result">
          Wrote {result.annotations} annotations of {result.images} images ({result.categories} categories) to{' '}
          <span className="mono">{result.path}</span>
        </p>
      )}
      <footer className="dialog-actions">
        <button className="ghost" onClick={() => c.openDialog(null)}>
          Close
        </button>
        <button
          className="primary"
          onClick={() => void run()}
          disabled={busy || !path.trim()}
          data-testid="run-export"
        >
          {busy ? 'Exporting…' : 'Export'}
        </button>
      </footer>
    </Dialog>
  );
}
