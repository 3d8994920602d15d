// The worker's operations: a registry that op modules fill on import. To add an op (e.g. automatic mask
// generation), write `registerOp('amg', handler)` in your module and add one `import` line in worker.ts.
import { EngineError } from './errors.js';
import type { ModelManifest } from './manifest.js';
import type { ImageSource } from './protocol.js';
import type { EncodedPrompt, Prompt } from './prompt.js';
import type { EmbeddingRecord } from './cache.js';
import type { DecoderSignature } from './signature.js';
import type { FastPath } from './fastpath.js';
import type { MaskUpscaler } from './ortx.js';
import type { CacheHit, EngineStats, LowResResult, ProviderInfo, StageTimings } from './types.js';

/** An embedding ready for decoding, and how it was obtained. */
export interface EmbedOutcome {
  record: EmbeddingRecord;
  cached: CacheHit;
  /** read/decode/preprocess/encoder filled; the rest 0. */
  timings: StageTimings;
}

/** What an op can use inside the worker: the loaded model, its caches and its decoders. */
export interface WorkerContext {
  readonly model: ModelManifest;
  readonly provider: ProviderInfo;
  readonly decoder: DecoderSignature;
  readonly batchedDecoder: DecoderSignature | null;
  /** The GPU fast path's sessions, when active (EngineInfo.fastPath says why not). */
  readonly fast: FastPath | null;
  /** The native host post-processing (upscale.ts), or null: TypeScript does it (EngineInfo.upscale). */
  readonly upscaler: MaskUpscaler | null;
  /** The embedding of an image (path, bytes or key), encoding it only when no cache has it. */
  embed(source: ImageSource): Promise<EmbedOutcome>;
  /** Validates and maps a prompt into the model's input frame. Throws EngineError `bad_prompt`. */
  encodePrompt(record: EmbeddingRecord, prompt: Prompt): EncodedPrompt;
  /** One prompt set through the single-prompt decoder: IoU (M) and low-res logits (M × 256²). */
  decodeOne(
    record: EmbeddingRecord,
    prompt: EncodedPrompt,
  ): Promise<{ iou: Float32Array; lowRes: Float32Array; ms: number }>;
  /**
   * Low-res logits and IoU predictions for many prompt sets on one embedding: the batched decoder in chunks
   * of ≤ pointsPerBatch when the model has one, otherwise one decoder call per prompt.
   */
  decodeLowRes(
    record: EmbeddingRecord,
    prompts: EncodedPrompt[],
    pointsPerBatch?: number,
  ): Promise<Omit<LowResResult, 'best'>>;
  stats(): EngineStats;
}

/** What an op returns: a structured-cloneable value and the buffers to move (not copy) to the caller. */
export interface OpResult<R = unknown> {
  value: R;
  transfer?: ArrayBuffer[];
}

export type OpHandler<P = unknown, R = unknown> = (ctx: WorkerContext, payload: P) => Promise<OpResult<R>>;

const registry = new Map<string, OpHandler>();

/** Registers a worker op under `name`; a second registration of the same name is a bug and throws. */
export function registerOp<P, R>(name: string, handler: OpHandler<P, R>): void {
  if (registry.has(name)) throw new Error(`worker op "${name}" is registered twice`);
  registry.set(name, handler as OpHandler);
}

export function getOp(name: string): OpHandler {
  const op = registry.get(name);
  if (!op)
    throw new EngineError(
      'unknown_op',
      `the engine worker has no op "${name}" (known: ${[...registry.keys()].join(', ')})`,
    );
  return op;
}
