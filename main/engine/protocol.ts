// Messages between the engine (caller's thread) and its worker. Every request carries an id; the worker
// answers each with exactly one response, errors included as data.
import type { SerializedError } from './errors.js';
import type { CudaGraphsChoice, FastPathChoice, FastPathInfo, ProviderChoice } from './types.js';

/** An image as the worker receives it. */
export type ImageSource = { path: string } | { bytes: Uint8Array } | { key: string };

export interface InitPayload {
  modelDir: string;
  provider: ProviderChoice;
  /** null disables the disk cache. */
  cacheDir: string | null;
  memoryCacheBytes: number;
  /** Absent in payloads of older callers: treated as `auto`. */
  fastPath?: FastPathChoice;
  /** Absent: `auto`, as SamEngine's default. */
  cudaGraphs?: CudaGraphsChoice;
}

export interface WorkerRequest {
  id: number;
  op: string;
  payload: unknown;
}

export type WorkerResponse =
  | {
      id: number;
      ok: true;
      value: unknown;
      /** The fast path's description, when it changed since the worker last sent it (describe()). */
      fastPath?: FastPathInfo;
    }
  | { id: number; ok: false; error: SerializedError };
