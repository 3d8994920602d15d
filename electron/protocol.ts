// The `maskroom://` scheme: `maskroom://app/<file>` serves the built renderer (read-only, confined to
// dist/renderer), `maskroom://image/<id>` the display bytes of an image of the open project.
import { AppError } from '../common/contracts/index.js';
import type { BackendHost } from '../main/services/host.js';
import { readStatic } from '../main/server/static.js';
import { APP_ORIGIN, contentSecurityPolicy } from './security.js';

const IMAGE_PATH = /^\/(\d{1,15})$/;

/** Answers one request of the app scheme. Pure apart from reading files: testable without Electron. */
export async function handleAppRequest(
  url: string,
  rendererDir: string,
  backend: Pick<BackendHost, 'displayImage'>,
): Promise<Response> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return new Response('bad url', { status: 400 });
  }
  const headers = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };
  if (u.host === 'image') {
    const m = IMAGE_PATH.exec(u.pathname);
    if (!m) return new Response('not found', { status: 404, headers });
    try {
      const img = await backend.displayImage(Number(m[1]));
      // maskroom://image is another origin than the page (maskroom://app): allow it so canvases that
      // draw the image stay readable (getImageData) when it is loaded with crossOrigin.
      return new Response(new Uint8Array(img.bytes), {
        status: 200,
        headers: { ...headers, 'Content-Type': img.mime, 'Access-Control-Allow-Origin': APP_ORIGIN },
      });
    } catch (e) {
      const status =
        e instanceof AppError && (e.code === 'NOT_FOUND' || e.code === 'NO_PROJECT')
          ? 404
          : e instanceof AppError && e.code === 'PATH_OUTSIDE_ROOT'
            ? 403
            : 500;
      return new Response(e instanceof Error ? e.message : 'error', { status, headers });
    }
  }
  if (u.host !== 'app') return new Response('not found', { status: 404, headers });
  const file = await readStatic(rendererDir, u.pathname);
  if (!file) return new Response('not found', { status: 404, headers });
  const extra: Record<string, string> = file.type.startsWith('text/html')
    ? { 'Content-Security-Policy': contentSecurityPolicy() }
    : {};
  return new Response(new Uint8Array(file.body), {
    status: 200,
    headers: { ...headers, ...extra, 'Content-Type': file.type },
  });
}
