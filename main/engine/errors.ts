// Typed errors of the engine. They cross the worker boundary as plain data (`SerializedError`) and are
// rebuilt on the caller's side, so `instanceof` and `code` work wherever the engine is used.

/** Why an engine operation failed. */
export type EngineErrorCode =
  | 'model_dir_not_found'
  | 'manifest_missing'
  | 'manifest_invalid'
  | 'model_file_missing'
  | 'model_load_failed'
  | 'model_mismatch'
  | 'provider_unavailable'
  | 'bad_prompt'
  | 'unknown_embedding'
  | 'unknown_op'
  | 'worker_crashed'
  | 'closed'
  | 'inference_failed'
  | 'internal';

/** Why an image could not be read. */
export type ImageErrorCode =
  'not_found' | 'not_a_file' | 'empty' | 'unsupported_format' | 'corrupt' | 'too_large' | 'bad_input';

/** An error of the SAM engine (model, provider, prompt, worker). */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** An image that cannot be decoded: missing, empty, truncated, not an image, or too large. */
export class ImageError extends Error {
  override readonly name = 'ImageError';
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/**
 * The first line of what was thrown: onnxruntime's messages run on with stack-like detail, and these reasons go
 * into EngineInfo, log lines and error messages.
 */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/**
 * A setting read from the environment that must be one of `allowed`; unset or empty is `fallback`. A wrong value
 * is an error that names the variable, so a typo in a benchmark's settings cannot pass for the default.
 */
export function envChoice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const v = process.env[name] || fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    const list = allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}` : allowed[0];
    throw new EngineError('internal', `${name} must be ${list}, not ${v}`);
  }
  return v as T;
}

/** The wire form of an error thrown inside the worker. */
export interface SerializedError {
  name: string;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof EngineError || err instanceof ImageError) {
    return { name: err.name, code: err.code, message: err.message, details: err.details };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { name: 'EngineError', code: 'internal', message };
}

export function deserializeError(e: SerializedError): EngineError | ImageError {
  if (e.name === 'ImageError') return new ImageError(e.code as ImageErrorCode, e.message, e.details);
  return new EngineError(e.code as EngineErrorCode, e.message, e.details);
}
