// Messages of the engine's `amg` op (plain data: they cross the worker boundary).
import type { AmgMask, AmgOptionsInput } from '../../../common/amg/types.js';
import type { AmgStats } from '../../../common/amg/generate.js';
import type { Rle } from '../../../common/rle/index.js';
import type { ImageSource } from '../protocol.js';

/**
 * Which decoder runs the prompts: `batched` (decoder_batched.onnx, up to pointsPerBatch prompts per call),
 * `single` (the official SamOnnxModel export, one prompt per call), `auto` (batched when the model has it).
 */
export type DecoderChoice = 'auto' | 'batched' | 'single';

export type AmgOpPayload =
  | { kind: 'generate'; source: ImageSource; options?: AmgOptionsInput; decoder?: DecoderChoice }
  | {
      kind: 'boxes';
      source: ImageSource;
      /** [x0, y0, x1, y1] in displayed image pixels. */
      boxes: [number, number, number, number][];
      decoder?: DecoderChoice;
      pointsPerBatch?: number;
      maskThreshold?: number;
    };

/** The mask SAM gives for one box prompt; `rle` null when the mask came out empty. */
export interface BoxMask {
  rle: Rle | null;
  predictedIou: number;
  area: number;
}

/** Result of automatic mask generation on one image. */
export interface GenerateResult {
  kind: 'generate';
  /** Embedding key (sha256 of the file). */
  key: string;
  width: number;
  height: number;
  masks: AmgMask[];
  stats: AmgStats;
  /** ms: encoding the image, encoding crops, the generator itself (decoder + filtering + RLE), all. */
  timings: { embed: number; cropEmbed: number; generate: number; total: number };
}

/** Result of boxes → masks on one image, one entry per box in order. */
export interface BoxesResult {
  kind: 'boxes';
  key: string;
  width: number;
  height: number;
  masks: BoxMask[];
  timings: { total: number };
}

export type AmgOpResult = GenerateResult | BoxesResult;
