/** Codes of every error the store raises, so callers (CLI, IPC) can branch on them. */
export type StoreErrorCode =
  | 'DB_FROM_FUTURE'
  | 'NOT_A_PROJECT'
  | 'PROJECT_EXISTS'
  | 'MIGRATION_FAILED'
  | 'PATH_OUTSIDE_ROOT'
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'CONSTRAINT'
  | 'HISTORY_CONFLICT';

/** An error from the project store, with a stable `code`. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
