// Serves the built renderer (dist/renderer) read-only: only regular files under the folder, real path
// checked so a symlink cannot lead out of it, no dotfiles.
import { realpathSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

/** Finds a file of the renderer build for a URL path; null when absent or not allowed. */
export async function readStatic(rootDir: string, urlPath: string): Promise<StaticFile | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const rel = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  if (rel.split('/').some((seg) => seg === '..' || seg.startsWith('.'))) return null;
  let realRoot: string;
  try {
    realRoot = realpathSync(rootDir);
  } catch {
    return null;
  }
  const file = path.resolve(realRoot, rel);
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    return null;
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return null;
  const st = await stat(real);
  if (!st.isFile()) return null;
  return {
    body: await readFile(real),
    type: TYPES[path.extname(real).toLowerCase()] ?? 'application/octet-stream',
  };
}
