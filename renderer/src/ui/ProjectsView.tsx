// Create or open a project by folder path. In web mode paths are on the server's filesystem.
import { useState, type FormEvent } from 'react';
import { useApp, useController } from '../state/context.js';
import { BrowseButton } from './BrowseButton.js';

export function ProjectsView() {
  const c = useController();
  const recent = useApp((s) => s.recent);
  const project = useApp((s) => s.project);
  const info = useApp((s) => s.appInfo);
  const [root, setRoot] = useState('');
  const [name, setName] = useState('');
  const [openRoot, setOpenRoot] = useState('');
  const [busy, setBusy] = useState(false);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    await c.createProject(
      root.trim(),
      name.trim() || root.trim().split(/[\\/]/).filter(Boolean).pop() || 'Project',
    );
    setBusy(false);
  };
  const open = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    await c.openProject(openRoot.trim());
    setBusy(false);
  };

  return (
    <div className="page projects">
      <h1>Projects</h1>
      {info?.mode === 'web' && (
        <p className="muted">
          Web mode: folders are paths on the server ({info.allowedRoots.join(', ') || 'any allowed root'}).
        </p>
      )}
      {project && (
        <div className="card current">
          <div>
            <div className="label">Open project</div>
            <div className="big">{project.name}</div>
            <div className="muted mono">{project.root}</div>
          </div>
          <div className="row">
            <button className="primary" onClick={() => c.showGrid()}>
              Show images
            </button>
            <button className="ghost" onClick={() => void c.closeProject()}>
              Close
            </button>
          </div>
        </div>
      )}
      <div className="two-col">
        <form className="card" onSubmit={create} data-testid="create-project">
          <h2>New project</h2>
          <label>
            Folder
            <input
              value={root}
              onChange={(e) => setRoot(e.target.value)}
              placeholder="/data/my-dataset"
              className="mono"
              required
              name="root"
            />
            <BrowseButton kind="folder" title="Folder of the new project" onPick={setRoot} />
          </label>
          <label>
            Name
            <input
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="My dataset"
              name="name"
            />
          </label>
          <button className="primary" type="submit" disabled={busy || !root.trim()}>
            Create project
          </button>
        </form>
        <form className="card" onSubmit={open} data-testid="open-project">
          <h2>Open project</h2>
          <label>
            Folder
            <input
              value={openRoot}
              onChange={(e) => setOpenRoot(e.target.value)}
              placeholder="/data/my-dataset"
              className="mono"
              required
              name="openRoot"
            />
            <BrowseButton kind="folder" title="Project folder" onPick={setOpenRoot} />
          </label>
          <button type="submit" disabled={busy || !openRoot.trim()}>
            Open
          </button>
          {recent.length > 0 && (
            <>
              <h3>Recent</h3>
              <ul className="recent">
                {recent.map((r) => (
                  <li key={r.root}>
                    <button
                      className="link"
                      disabled={!r.exists}
                      onClick={() => void c.openProject(r.root)}
                      title={r.root}
                    >
                      <span>{r.name}</span>
                      <span className="muted mono">{r.root}</span>
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </form>
      </div>
    </div>
  );
}
