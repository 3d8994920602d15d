// Models: installed list with the active one, import from a folder or an encoder/decoder pair, and
// download by URL (a job with progress).
import { useState, type FormEvent } from 'react';
import { useApp, useAppShallow, useController } from '../state/context.js';
import { Dialog } from './Dialog.js';
import { Progress } from './GridView.js';
import { BrowseButton } from './BrowseButton.js';

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function ModelsPanel() {
  const c = useController();
  const models = useApp((s) => s.models);
  const provider = useApp((s) => s.provider);
  const downloads = useAppShallow((s) => Object.values(s.jobs).filter((j) => j.kind === 'modelDownload'));
  const [tab, setTab] = useState<'folder' | 'pair' | 'url'>('folder');
  const [dir, setDir] = useState('');
  const [enc, setEnc] = useState('');
  const [dec, setDec] = useState('');
  const [name, setName] = useState('');
  const [encUrl, setEncUrl] = useState('');
  const [encSha, setEncSha] = useState('');
  const [decUrl, setDecUrl] = useState('');
  const [decSha, setDecSha] = useState('');
  const [busy, setBusy] = useState(false);

  const act = async (p: Promise<unknown>) => {
    setBusy(true);
    await p;
    setBusy(false);
    await c.refreshProvider();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    if (tab === 'folder')
      void act(
        unwrapToast(
          c,
          c.api.models.importFolder({ dir: dir.trim(), ...(n ? { name: n } : {}) }),
          'Import model',
        ),
      );
    if (tab === 'pair')
      void act(
        unwrapToast(
          c,
          c.api.models.importPair({
            encoderPath: enc.trim(),
            decoderPath: dec.trim(),
            name: n || 'Imported model',
          }),
          'Import model',
        ),
      );
    if (tab === 'url')
      void act(
        unwrapToast(
          c,
          c.api.models.download({
            name: n || 'Downloaded model',
            encoder: { url: encUrl.trim(), sha256: encSha.trim().toLowerCase() },
            decoder: { url: decUrl.trim(), sha256: decSha.trim().toLowerCase() },
          }),
          'Download started',
        ).then((job) => {
          if (job && typeof job === 'object' && 'id' in job)
            c.store.setState((s) => ({ jobs: { ...s.jobs, [(job as { id: string }).id]: job as never } }));
        }),
      );
  };

  return (
    <Dialog title="Models" onClose={() => c.openDialog(null)} testId="models-panel">
      {provider && (
        <p className={provider.provider === 'cuda' ? 'ok-text' : 'muted'}>
          Running on <strong>{provider.provider.toUpperCase()}</strong>
          {provider.device && provider.device !== provider.provider ? ` (${provider.device})` : ''} —{' '}
          {provider.reason}
        </p>
      )}
      <table className="models">
        <thead>
          <tr>
            <th>Name</th>
            <th>Source</th>
            <th>Size</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.id} className={m.active ? 'active' : ''}>
              <td title={m.dir}>
                {m.name}
                {m.hasBatchedDecoder ? <span className="pill small">batched</span> : null}
              </td>
              <td className="muted">{m.source}</td>
              <td className="muted">{formatBytes(m.sizeBytes)}</td>
              <td>
                {m.active ? (
                  <span className="pill ok">Active</span>
                ) : (
                  <button
                    className="small"
                    disabled={busy}
                    onClick={() =>
                      void act(unwrapToast(c, c.api.models.setActive({ id: m.id }), 'Switch model'))
                    }
                  >
                    Use
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="tabs small-tabs">
        {(['folder', 'pair', 'url'] as const).map((t) => (
          <button key={t} className={t === tab ? 'tab active' : 'tab'} onClick={() => setTab(t)}>
            {t === 'folder' ? 'Import folder' : t === 'pair' ? 'Encoder + decoder' : 'Download URL'}
          </button>
        ))}
      </div>
      <form onSubmit={submit} className="stack">
        {tab === 'folder' && (
          <label>
            Folder with encoder.onnx and decoder.onnx
            <input value={dir} onChange={(e) => setDir(e.target.value)} className="mono" required />
            <BrowseButton kind="folder" title="Model folder" onPick={setDir} />
          </label>
        )}
        {tab === 'pair' && (
          <>
            <label>
              Encoder .onnx
              <input value={enc} onChange={(e) => setEnc(e.target.value)} className="mono" required />
              <BrowseButton kind="file" title="Encoder ONNX" extensions={['onnx']} onPick={setEnc} />
            </label>
            <label>
              Decoder .onnx
              <input value={dec} onChange={(e) => setDec(e.target.value)} className="mono" required />
              <BrowseButton kind="file" title="Decoder ONNX" extensions={['onnx']} onPick={setDec} />
            </label>
          </>
        )}
        {tab === 'url' && (
          <>
            <label>
              Encoder URL and sha256
              <input
                value={encUrl}
                onChange={(e) => setEncUrl(e.target.value)}
                className="mono"
                placeholder="https://…/encoder.onnx"
                required
              />
              <input
                value={encSha}
                onChange={(e) => setEncSha(e.target.value)}
                className="mono"
                placeholder="64 hex digits"
                required
              />
            </label>
            <label>
              Decoder URL and sha256
              <input
                value={decUrl}
                onChange={(e) => setDecUrl(e.target.value)}
                className="mono"
                placeholder="https://…/decoder.onnx"
                required
              />
              <input
                value={decSha}
                onChange={(e) => setDecSha(e.target.value)}
                className="mono"
                placeholder="64 hex digits"
                required
              />
            </label>
          </>
        )}
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. SAM ViT-B" />
        </label>
        <footer className="dialog-actions">
          <button className="primary" type="submit" disabled={busy}>
            {tab === 'url' ? 'Download' : 'Import'}
          </button>
        </footer>
      </form>
      {downloads.map((j) => (
        <div key={j.id} className="row">
          <span className="small">{j.message || 'Download'}</span>
          <Progress done={j.done} total={j.total} />
          <span className="small muted">
            {j.state === 'failed'
              ? (j.error?.message ?? 'failed')
              : j.total
                ? `${formatBytes(j.done)} / ${formatBytes(j.total)}`
                : j.state}
          </span>
        </div>
      ))}
    </Dialog>
  );
}

async function unwrapToast(
  c: ReturnType<typeof useController>,
  p: Promise<{ ok: true; value: unknown } | { ok: false; error: { message: string } }>,
  what: string,
): Promise<unknown> {
  const r = await p;
  if (!r.ok) {
    c.toast('error', `${what}: ${r.error.message}`);
    return null;
  }
  // A download is a job: its call returns at the start, progress follows in the panel.
  c.toast('info', what.endsWith('started') ? what : `${what}: done`);
  return r.value;
}
