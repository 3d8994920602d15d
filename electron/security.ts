// The Electron shell's security decisions as pure functions, so they are tested without Electron's
// binary: window options, the app's origin, which frames may call the backend, where navigation may go.
import type { BrowserWindowConstructorOptions } from 'electron';

/** Custom scheme the renderer and images are served from (never file://, so no ambient file access). */
export const APP_SCHEME = 'maskroom';
/** `maskroom://app/…`: the built renderer. */
export const APP_ORIGIN = `${APP_SCHEME}://app`;
/** `maskroom://image/<id>`: display bytes of an image of the open project. */
export const IMAGE_ORIGIN = `${APP_SCHEME}://image`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/** BrowserWindow options: isolated, sandboxed renderer with no Node, web security on. */
export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    show: false,
    backgroundColor: '#1e1e1e',
    title: 'Maskroom',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/** CSP sent with every response of the app scheme (and added to any other response by the session). */
export function contentSecurityPolicy(): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // React and Konva set inline style attributes.
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob: ${IMAGE_ORIGIN}`,
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** True for a URL of our renderer. */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === 'app';
  } catch {
    return false;
  }
}

/** The parts of Electron's WebFrameMain the sender check reads. */
export interface FrameLike {
  url: string;
  parent: unknown;
}

/** Only our own top-level frame may call the backend (not an iframe, not a page navigated elsewhere). */
export function isTrustedSender(frame: FrameLike | null | undefined): boolean {
  return !!frame && frame.parent === null && isAppUrl(frame.url);
}

/** In-app navigation is allowed only within the app's own origin; everything else is refused. */
export function navigationAllowed(url: string): boolean {
  return isAppUrl(url);
}
