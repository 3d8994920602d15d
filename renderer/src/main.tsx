// Renderer entry: one store, one controller, one pixel worker, then React.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connect } from './api/transport.js';
import { PixelClient } from './pixels/client.js';
import { FallbackWorker } from './pixels/fallback.js';
import { Controller } from './state/controller.js';
import { createAppStore } from './state/store.js';
import { installTestHook } from './testHook.js';
import { App } from './ui/App.js';
import './ui/styles.css';

const store = createAppStore();
const worker = new FallbackWorker(
  () => new Worker(new URL('./pixels/pixels.worker.ts', import.meta.url), { type: 'module', name: 'pixels' }),
  (reason) => console.warn(`pixel worker unavailable (${reason}); rendering masks on the UI thread`),
);
const pixels = new PixelClient(worker);
const connection = connect((state, detail) => {
  const wasDown = store.getState().connection === 'reconnecting';
  store.setState({ connection: state, connectionError: detail });
  if (state === 'open' && wasDown) void controller.resync();
});
const controller = new Controller(connection.api, store, pixels);
installTestHook(controller, () => (worker.isInline ? 'inline' : 'worker'));

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App controller={controller} />
  </StrictMode>,
);

connection.ready().then(
  () => {
    // The server set its session cookie on this page load; take the token out of the address bar so
    // it does not end up in bookmarks, screenshots or screen shares. Reloads authenticate by cookie.
    const url = new URL(window.location.href);
    if (url.searchParams.has('token')) {
      url.searchParams.delete('token');
      window.history.replaceState(null, '', url.pathname + url.search + url.hash);
    }
    return controller.start();
  },
  (e: unknown) =>
    store.setState({ connection: 'closed', connectionError: e instanceof Error ? e.message : String(e) }),
);
