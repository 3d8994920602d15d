import { StoreError } from './errors.js';

/** Refuses absolute paths, backslashes and `..` segments: image paths must stay under the root. */
export function checkRelativePath(p: string): string {
  if (
    p.length === 0 ||
    p.startsWith('/') ||
    /^[A-Za-z]:/.test(p) ||
    p.includes('\\') ||
    p.includes('\0') ||
    p.split('/').some((s) => s === '..' || s === '.' || s === '')
  ) {
    throw new StoreError(
      'PATH_OUTSIDE_ROOT',
      `image path "${p}" must be a relative path inside the project root`,
    );
  }
  return p;
}
