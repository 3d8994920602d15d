// Confines every path argument that reaches the backend from a renderer or a browser. A path is allowed
// only when its real location (symlinks resolved, `..` normalised) lies inside one of the allowed roots:
// the open project's folders and folders the user picked. Anything else is PATH_OUTSIDE_ROOT.
import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../common/contracts/index.js';

/** True when `child` is `parent` or lies below it (both absolute and normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel));
}

/**
 * The real path of `p` even when its tail does not exist yet (an export target): the deepest existing
 * ancestor is resolved through symlinks and the missing tail appended.
 */
export function realpathAllowMissing(p: string): string {
  let head = path.resolve(p);
  const tail: string[] = [];
  while (!existsSync(head)) {
    const parent = path.dirname(head);
    if (parent === head) break;
    tail.unshift(path.basename(head));
    head = parent;
  }
  return path.join(realpathSync(head), ...tail);
}

export interface ConfineOptions {
  /** Resolve a relative path against this folder (default: refuse relative paths). */
  base?: string;
  /** What the path must be when it exists / must exist. */
  mustExist?: 'file' | 'dir';
  /** Shown in the error message ("export path", "image folder"). */
  what?: string;
}

/** The set of allowed roots. Roots are kept as real paths. */
export class PathGuard {
  private readonly rootSet = new Set<string>();

  constructor(roots: Iterable<string> = []) {
    for (const r of roots) this.add(r);
  }

  /** Allows a folder (it must exist); returns its real path. */
  add(dir: string): string {
    const real = realpathSync(path.resolve(dir));
    if (!statSync(real).isDirectory()) throw new AppError('INVALID_ARGUMENT', `not a folder: ${dir}`);
    this.rootSet.add(real);
    return real;
  }

  /** Forgets a root added before (e.g. the folder of a project that was closed). */
  remove(dir: string): void {
    try {
      this.rootSet.delete(realpathSync(path.resolve(dir)));
    } catch {
      this.rootSet.delete(path.resolve(dir));
    }
  }

  roots(): string[] {
    return [...this.rootSet];
  }

  /** True when the real location of `p` is inside an allowed root. */
  allows(p: string): boolean {
    try {
      const real = realpathAllowMissing(p);
      return [...this.rootSet].some((r) => isInside(r, real));
    } catch {
      return false;
    }
  }

  /**
   * Returns the absolute real path of a user-given path, or throws AppError: PATH_OUTSIDE_ROOT when it
   * escapes every root (`..`, an absolute path elsewhere, a symlink leading out), NOT_FOUND /
   * INVALID_ARGUMENT per `mustExist`.
   */
  confine(p: string, opts: ConfineOptions = {}): string {
    const what = opts.what ?? 'path';
    if (typeof p !== 'string' || p.length === 0 || p.includes('\0'))
      throw new AppError('INVALID_ARGUMENT', `${what}: not a path`);
    if (!path.isAbsolute(p) && opts.base === undefined) {
      throw new AppError('INVALID_ARGUMENT', `${what} must be absolute: ${p}`);
    }
    const abs = path.resolve(opts.base ?? '/', p);
    let real: string;
    try {
      real = realpathAllowMissing(abs);
    } catch (e) {
      throw new AppError('IO_ERROR', `${what}: cannot resolve ${abs}: ${(e as Error).message}`);
    }
    if (![...this.rootSet].some((r) => isInside(r, real))) {
      throw new AppError(
        'PATH_OUTSIDE_ROOT',
        `${what} ${p} is outside the project and the folders you opened`,
      );
    }
    if (opts.mustExist) {
      if (!existsSync(real)) throw new AppError('NOT_FOUND', `${what} does not exist: ${p}`);
      const st = statSync(real);
      if (opts.mustExist === 'file' && !st.isFile())
        throw new AppError('INVALID_ARGUMENT', `${what} is not a file: ${p}`);
      if (opts.mustExist === 'dir' && !st.isDirectory())
        throw new AppError('INVALID_ARGUMENT', `${what} is not a folder: ${p}`);
    }
    return real;
  }
}
