// Every error the layers below raise (store, engine, RLE codec, file system) becomes an AppError with a
// contract code here, so callers across a boundary can branch on it.
import { AppError, type ErrorCode } from '../../common/contracts/index.js';
import { RleError } from '../../common/rle/index.js';
import { EngineError, ImageError } from '../engine/index.js';
import { StoreError } from '../store/index.js';
import { JobError } from '../jobs/index.js';
import { AmgOptionsError } from '../../common/amg/types.js';

const STORE: Record<string, ErrorCode> = {
  DB_FROM_FUTURE: 'CONFLICT',
  NOT_A_PROJECT: 'NOT_FOUND',
  PROJECT_EXISTS: 'CONFLICT',
  MIGRATION_FAILED: 'IO_ERROR',
  PATH_OUTSIDE_ROOT: 'PATH_OUTSIDE_ROOT',
  NOT_FOUND: 'NOT_FOUND',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  CONSTRAINT: 'CONFLICT',
  HISTORY_CONFLICT: 'CONFLICT',
};

const ENGINE_AS_ARGUMENT = new Set(['bad_prompt', 'unknown_embedding']);

/** Maps any thrown value to an AppError (unknown errors pass through untouched, to become INTERNAL). */
export function toAppError(e: unknown): unknown {
  if (e instanceof AppError) return e;
  if (e instanceof StoreError) return new AppError(STORE[e.code] ?? 'INTERNAL', e.message);
  if (e instanceof EngineError) {
    return new AppError(ENGINE_AS_ARGUMENT.has(e.code) ? 'INVALID_ARGUMENT' : 'ENGINE_ERROR', e.message);
  }
  if (e instanceof ImageError)
    return new AppError(e.code === 'not_found' ? 'NOT_FOUND' : 'IO_ERROR', e.message);
  if (e instanceof JobError) {
    const code: ErrorCode =
      e.code === 'JOB_NOT_FOUND'
        ? 'NOT_FOUND'
        : e.code === 'JOB_NOT_RESUMABLE'
          ? 'CONFLICT'
          : 'INVALID_ARGUMENT';
    return new AppError(code, e.message);
  }
  if (e instanceof AmgOptionsError) return new AppError('INVALID_ARGUMENT', e.message);
  if (e instanceof RleError) return new AppError('INVALID_ARGUMENT', `mask: ${e.message}`);
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new AppError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR', e.message);
  }
  return e;
}

/** Wraps every method of a service implementation so lower-layer errors leave as AppError. */
export function mapErrors<T extends object>(impl: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(impl)) {
    out[name] =
      typeof fn === 'function'
        ? async (...args: unknown[]) => {
            try {
              return await (fn as (...a: unknown[]) => unknown).apply(impl, args);
            } catch (e) {
              throw toAppError(e);
            }
          }
        : fn;
  }
  return out as T;
}
