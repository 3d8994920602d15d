// Caller-side API of automatic mask generation: runs the engine worker's `amg` op (see op.ts).
import { parseAmgOptions, type AmgOptionsInput, type BoxXyxy } from '../../../common/amg/types.js';
import type { ImageInput, SamEngine } from '../engine.js';
import { EngineError, ImageError } from '../errors.js';
import type { ImageSource } from '../protocol.js';
import type { AmgOpPayload, BoxesResult, DecoderChoice, GenerateResult } from './types.js';

export type { BoxesResult, BoxMask, DecoderChoice, GenerateResult } from './types.js';

function toSource(image: ImageInput): ImageSource {
  if (typeof image === 'string') return { path: image };
  if (image instanceof Uint8Array) return { bytes: new Uint8Array(image) };
  if (image && typeof image === 'object' && typeof image.key === 'string') return { key: image.key };
  throw new ImageError('bad_input', 'an image is a path, a Uint8Array/Buffer or {key}');
}

function transferOf(s: ImageSource): ArrayBuffer[] {
  return 'bytes' in s ? [s.bytes.buffer as ArrayBuffer] : [];
}

/**
 * SAM automatic mask generation on one image, inside the engine's worker. Options are SAM's
 * (common/amg/types.ts, camelCase) and are validated here first: bad ones throw AmgOptionsError.
 */
export async function generateMasks(
  engine: SamEngine,
  image: ImageInput,
  options: AmgOptionsInput = {},
  opts: { decoder?: DecoderChoice } = {},
): Promise<GenerateResult> {
  parseAmgOptions(options);
  const source = toSource(image);
  const payload: AmgOpPayload = { kind: 'generate', source, options, decoder: opts.decoder ?? 'auto' };
  return engine.request<GenerateResult>('amg', payload, transferOf(source));
}

/** One mask per box prompt ([x0, y0, x1, y1] in image pixels), batched through the decoder. */
export async function boxesToMasks(
  engine: SamEngine,
  image: ImageInput,
  boxes: BoxXyxy[],
  opts: { decoder?: DecoderChoice; pointsPerBatch?: number } = {},
): Promise<BoxesResult> {
  if (!Array.isArray(boxes))
    throw new EngineError('bad_prompt', 'boxes must be an array of [x0, y0, x1, y1]');
  if (boxes.length === 0) {
    throw new EngineError('bad_prompt', 'boxesToMasks needs at least one box');
  }
  const source = toSource(image);
  const payload: AmgOpPayload = {
    kind: 'boxes',
    source,
    boxes,
    decoder: opts.decoder ?? 'auto',
    pointsPerBatch: opts.pointsPerBatch ?? 64,
  };
  return engine.request<BoxesResult>('amg', payload, transferOf(source));
}
