// Bottom bar: connection, active model and provider (and why CPU), embedding state, tool, jobs.
import { useApp } from '../state/context.js';
import { Progress } from './GridView.js';

const JOB_LABEL: Record<string, string> = {
  importFolder: 'Import',
  autoAnnotate: 'Auto-annotate',
  boxesToMasks: 'Boxes → masks',
  modelDownload: 'Download',
  export: 'Export',
};

export function StatusBar() {
  const connection = useApp((s) => s.connection);
  const provider = useApp((s) => s.provider);
  const models = useApp((s) => s.models);
  const embedding = useApp((s) => s.embedding);
  const view = useApp((s) => s.view);
  const phase = useApp((s) => s.prompt.phase);
  const tool = useApp((s) => s.tool);
  const jobs = useApp((s) => s.jobs);
  const running = Object.values(jobs).filter(
    (j) => j.state === 'running' || j.state === 'queued' || j.state === 'paused',
  );
  const model = models.find((m) => m.id === provider?.modelId) ?? models.find((m) => m.active);
  return (
    <footer className="statusbar" data-testid="statusbar">
      <span className={`dot ${connection === 'open' ? 'ok' : 'warn'}`} title={`Backend: ${connection}`} />
      <span title={model?.dir}>{model ? model.name : 'No model'}</span>
      {provider && (
        <span className={`pill ${provider.provider}`} title={provider.reason}>
          {provider.provider.toUpperCase()}
          {provider.device && provider.device !== provider.provider ? ` · ${provider.device}` : ''}
        </span>
      )}
      {provider?.provider === 'cpu' && (
        <span className="muted small ellipsis" title={provider.reason}>
          {provider.reason}
        </span>
      )}
      {view === 'annotate' && (
        <span className="small" data-testid="embedding-state">
          Embedding:{' '}
          {embedding.state === 'ready'
            ? `ready${embedding.cached ? ' (cached)' : embedding.ms !== null ? ` (${Math.round(embedding.ms)} ms)` : ''}`
            : embedding.state === 'computing'
              ? 'computing…'
              : embedding.state}
        </span>
      )}
      {view === 'annotate' && (
        <span className="muted small">
          {tool === 'prompt' ? 'Segment' : tool === 'brush' ? 'Brush' : 'Eraser'} · {phase}
        </span>
      )}
      <span className="spacer" />
      {running.map((j) => (
        <span key={j.id} className="job" title={j.message}>
          {JOB_LABEL[j.kind] ?? j.kind} {j.state === 'paused' ? '(paused)' : ''}
          <Progress done={j.done} total={j.total} />
          <span className="small muted">
            {j.done}/{j.total ?? '?'}
          </span>
        </span>
      ))}
    </footer>
  );
}
