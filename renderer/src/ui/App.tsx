// Shell: top bar, the current view, status bar, dialogs and toasts.
import { useEffect } from 'react';
import type { Controller } from '../state/controller.js';
import { ControllerContext, useApp, useController } from '../state/context.js';
import { AnnotateView } from './AnnotateView.js';
import { ExportDialog } from './ExportDialog.js';
import { GridView } from './GridView.js';
import { ModelsPanel } from './ModelsPanel.js';
import { ProjectsView } from './ProjectsView.js';
import { StatusBar } from './StatusBar.js';

export function App({ controller }: { controller: Controller }) {
  useEffect(() => () => controller.dispose(), [controller]);
  return (
    <ControllerContext.Provider value={controller}>
      <Shell />
    </ControllerContext.Provider>
  );
}

function Shell() {
  const connection = useApp((s) => s.connection);
  const connectionError = useApp((s) => s.connectionError);
  const view = useApp((s) => s.view);
  const dialog = useApp((s) => s.dialog);
  if (connection === 'connecting' || (connection === 'closed' && connectionError)) {
    return (
      <div className="splash">
        <Logo />
        <p className={connectionError ? 'error' : 'muted'}>
          {connectionError ?? 'Connecting to the Maskroom backend…'}
        </p>
      </div>
    );
  }
  return (
    <div className="shell">
      <TopBar />
      <main className="main">
        {view === 'projects' && <ProjectsView />}
        {view === 'grid' && <GridView />}
        {view === 'annotate' && <AnnotateView />}
      </main>
      <StatusBar />
      {dialog === 'export' && <ExportDialog />}
      {dialog === 'models' && <ModelsPanel />}
      <Toasts />
      {connection === 'reconnecting' && <div className="banner">{connectionError ?? 'Reconnecting…'}</div>}
    </div>
  );
}

function Logo() {
  return (
    <div className="logo">
      <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden>
        <rect x="2" y="2" width="20" height="20" rx="5" fill="#3b82f6" />
        <path d="M7 16c2-6 8-8 10-3" stroke="#fff" strokeWidth="2.2" fill="none" strokeLinecap="round" />
        <circle cx="9" cy="9" r="1.8" fill="#fff" />
      </svg>
      <span>Maskroom</span>
    </div>
  );
}

function TopBar() {
  const c = useController();
  const project = useApp((s) => s.project);
  const view = useApp((s) => s.view);
  const canAnnotate = useApp((s) => s.currentImageId !== null);
  return (
    <header className="topbar">
      <Logo />
      <nav className="tabs">
        <button
          className={view === 'projects' ? 'tab active' : 'tab'}
          onClick={() => c.store.setState({ view: 'projects' })}
        >
          Projects
        </button>
        <button
          className={view === 'grid' ? 'tab active' : 'tab'}
          disabled={!project}
          onClick={() => c.showGrid()}
        >
          Images
        </button>
        <button
          className={view === 'annotate' ? 'tab active' : 'tab'}
          disabled={!canAnnotate}
          onClick={() => c.store.setState({ view: 'annotate' })}
        >
          Annotate
        </button>
      </nav>
      <div className="project-name" title={project?.root}>
        {project ? project.name : 'No project open'}
      </div>
      <div className="spacer" />
      <button className="ghost" onClick={() => c.openDialog('models')}>
        Models
      </button>
      <button
        className="primary"
        disabled={!project}
        onClick={() => c.openDialog('export')}
        data-testid="open-export"
      >
        Export
      </button>
    </header>
  );
}

function Toasts() {
  const toasts = useApp((s) => s.toasts);
  return (
    <div className="toasts" role="status">
      {toasts.map((t) => (
        <div key={t.id} className={`toast ${t.kind}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}
