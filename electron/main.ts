// Electron main process: one hardened window on the `maskroom://` scheme, hosting the Backend (which
// runs the SAM engine in its worker thread and the project store) behind validated IPC handlers.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  protocol,
  session,
  shell,
  type OpenDialogOptions,
} from 'electron';
import { fixtureModelDir } from '../main/engine/index.js';
import { Backend } from '../main/services/backend.js';
import { registerIpc } from './ipc.js';
import { unpackedPath } from './packaging.js';
import { handleAppRequest } from './protocol.js';
import {
  APP_ENTRY,
  APP_SCHEME,
  contentSecurityPolicy,
  IMAGE_ORIGIN,
  isTrustedSender,
  navigationAllowed,
  windowOptions,
} from './security.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/electron/main.js → dist/renderer; in a packaged app the same layout sits inside app.asar.
const rendererDir = path.join(here, '..', 'renderer');
const preloadPath = path.join(here, 'preload.cjs');

protocol.registerSchemesAsPrivileged([
  {
    scheme: APP_SCHEME,
    privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true, corsEnabled: true },
  },
]);
app.enableSandbox();

let win: BrowserWindow | null = null;

async function pick(
  kind: 'openDirectory' | 'openFile',
  title?: string,
  extensions?: string[],
): Promise<string | null> {
  const opts: OpenDialogOptions = {
    title: title ?? (kind === 'openDirectory' ? 'Choose a folder' : 'Choose a file'),
    properties: kind === 'openDirectory' ? ['openDirectory', 'createDirectory'] : ['openFile'],
    ...(extensions ? { filters: [{ name: extensions.join(', '), extensions }] } : {}),
  };
  const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
  return r.canceled ? null : (r.filePaths[0] ?? null);
}

function createWindow(): BrowserWindow {
  const w = new BrowserWindow(windowOptions(preloadPath));
  w.webContents.on('will-navigate', (event, url) => {
    if (!navigationAllowed(url)) event.preventDefault();
  });
  w.webContents.on('will-redirect', (event, url) => {
    if (!navigationAllowed(url)) event.preventDefault();
  });
  w.webContents.setWindowOpenHandler(({ url }) => {
    // Links to the web (docs, model pages) open in the user's browser, never in an app window.
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  w.once('ready-to-show', () => w.show());
  void w.loadURL(APP_ENTRY);
  return w;
}

async function start(): Promise<void> {
  await app.whenReady();
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    dialog.showErrorBox('Maskroom', `The renderer is not built (${rendererDir}). Run "npm run build".`);
    app.quit();
    return;
  }
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy()] },
    });
  });
  const host = new Backend({
    mode: 'electron',
    dataDir: app.getPath('userData'),
    imageUrl: (id) => `${IMAGE_ORIGIN}/${id}`,
    pickFolder: (title) => pick('openDirectory', title),
    pickFile: (title, extensions) => pick('openFile', title, extensions),
    version: app.getVersion(),
    fixtureModelDir: app.isPackaged ? unpackedPath(fixtureModelDir()) : fixtureModelDir(),
    log: (line) => console.log(`[maskroom] ${line}`),
  });
  protocol.handle(APP_SCHEME, (request) => handleAppRequest(request.url, rendererDir, host));
  const unregister = registerIpc(ipcMain, host.dispatcher, isTrustedSender);
  const unsubscribe = host.bus.subscribe((channel, payload) => {
    if (win && !win.isDestroyed()) win.webContents.send(channel, payload);
  });
  win = createWindow();
  win.on('closed', () => {
    win = null;
  });
  app.on('window-all-closed', () => {
    unsubscribe();
    unregister();
    // The engine worker and the database close with the window: nothing keeps running headless.
    void host.close().finally(() => app.quit());
  });
}

app.on('web-contents-created', (_event, contents) => {
  contents.on('will-attach-webview', (event) => event.preventDefault());
});

void start();
