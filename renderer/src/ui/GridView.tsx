// The project's images: thumbnails with status and counts, filters, folder import with progress.
import { memo, useEffect, useState, type FormEvent } from 'react';
import type { ImageStatus, ImageSummary } from '../../../common/contracts/index.js';
import { useApp, useAppShallow, useController } from '../state/context.js';
import { BrowseButton } from './BrowseButton.js';

const STATUSES: ImageStatus[] = ['new', 'in_progress', 'done', 'skipped'];
const STATUS_LABEL: Record<ImageStatus, string> = {
  new: 'New',
  in_progress: 'In progress',
  done: 'Done',
  skipped: 'Skipped',
};

export function GridView() {
  const c = useController();
  const images = useApp((s) => s.images);
  const total = useApp((s) => s.imagesTotal);
  const filter = useApp((s) => s.filter);
  const categories = useApp((s) => s.categories);
  const stats = useApp((s) => s.stats);
  const project = useApp((s) => s.project);
  const importJobs = useAppShallow((s) => Object.values(s.jobs).filter((j) => j.kind === 'importFolder'));
  const [dir, setDir] = useState('');

  useEffect(() => setDir((d) => d || project?.root || ''), [project]);

  const doImport = (e: FormEvent) => {
    e.preventDefault();
    if (dir.trim()) void c.importFolder(dir.trim());
  };
  const running = importJobs.find((j) => j.state === 'running' || j.state === 'queued');

  return (
    <div className="page grid-page">
      <div className="toolbar">
        <form className="import" onSubmit={doImport} data-testid="import-form">
          <input
            value={dir}
            onChange={(e) => setDir(e.target.value)}
            placeholder="Folder of images to import"
            className="mono"
            name="importDir"
          />
          <BrowseButton kind="folder" title="Folder of images to import" onPick={setDir} />
          <button type="submit" className="primary" disabled={!dir.trim() || !!running}>
            Import folder
          </button>
        </form>
        {running && (
          <div className="progress-inline" data-testid="import-progress">
            <Progress done={running.done} total={running.total} />
            <span className="muted">
              {running.done}/{running.total ?? '?'} {running.message}
            </span>
          </div>
        )}
        <div className="spacer" />
        <select
          value={filter.status ?? ''}
          onChange={(e) => void c.setFilter({ status: (e.target.value || null) as ImageStatus | null })}
          aria-label="Filter by status"
        >
          <option value="">All statuses</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_LABEL[s]} {stats ? `(${stats.imagesByStatus[s]})` : ''}
            </option>
          ))}
        </select>
        <select
          value={filter.categoryId ?? ''}
          onChange={(e) => void c.setFilter({ categoryId: e.target.value ? Number(e.target.value) : null })}
          aria-label="Filter by category"
        >
          <option value="">All categories</option>
          {categories.map((cat) => (
            <option key={cat.id} value={cat.id}>
              {cat.name}
            </option>
          ))}
        </select>
        <button
          className="ghost"
          onClick={() => void c.startAutoAnnotate(true)}
          disabled={images.length === 0}
          title="Propose masks for every image"
        >
          Auto-annotate all
        </button>
      </div>
      <div className="muted small summary">
        {total} image{total === 1 ? '' : 's'}
        {stats ? ` · ${stats.annotations} annotations · ${stats.proposed} to review` : ''}
      </div>
      {images.length === 0 ? (
        <div className="empty">
          <p>No images{filter.status || filter.categoryId ? ' match these filters' : ' yet'}.</p>
          {!filter.status && !filter.categoryId && (
            <p className="muted">Import a folder of JPEG/PNG images to start.</p>
          )}
        </div>
      ) : (
        <div className="grid" data-testid="image-grid">
          {images.map((img) => (
            <Thumb key={img.id} image={img} onOpen={() => void c.openImage(img.id)} />
          ))}
        </div>
      )}
    </div>
  );
}

/** A determinate progress bar (indeterminate while the total is unknown). */
export function Progress({ done, total }: { done: number; total: number | null }) {
  const pct = total ? Math.min(100, (done / total) * 100) : null;
  return (
    <div className={pct === null ? 'progress indeterminate' : 'progress'}>
      <div style={{ width: pct === null ? '30%' : `${pct}%` }} />
    </div>
  );
}

const Thumb = memo(function Thumb({ image, onOpen }: { image: ImageSummary; onOpen: () => void }) {
  const c = useController();
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void c.api.images.url({ imageId: image.id }).then((r) => live && r.ok && setUrl(r.value.url));
    return () => {
      live = false;
    };
  }, [c, image.id]);
  return (
    <button
      className="thumb"
      onClick={onOpen}
      title={image.relPath}
      data-testid="thumb"
      data-image-id={image.id}
    >
      <div className="thumb-img">
        {url ? <img src={url} alt={image.fileName} loading="lazy" draggable={false} /> : null}
      </div>
      <div className="thumb-meta">
        <span className="name">{image.fileName}</span>
        <span className={`status s-${image.status}`}>{STATUS_LABEL[image.status]}</span>
      </div>
      <div className="thumb-counts muted small">
        {image.annotationCount} ann.{image.proposedCount > 0 ? ` · ${image.proposedCount} proposed` : ''} ·{' '}
        {image.width}×{image.height}
      </div>
    </button>
  );
});
