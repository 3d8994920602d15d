// Options and records of automatic mask generation, mirroring SAM's SamAutomaticMaskGenerator.
import { z } from 'zod';

/** An axis-aligned box `[x0, y0, x1, y1]` in pixels. Mask boxes are inclusive (SAM's `batched_mask_to_box`). */
export type BoxXyxy = [number, number, number, number];
/** An axis-aligned box `[x, y, width, height]` in pixels. */
export type BoxXywh = [number, number, number, number];

/**
 * Settings of automatic mask generation. Names and defaults are SAM's (`SamAutomaticMaskGenerator`),
 * camel-cased. `pointsPerBatch` may go up to 1024 with the batched decoder (each prompt holds 4 × 256² floats).
 */
export const AmgOptionsSchema = z
  .object({
    /** Points sampled along one side of each crop; the grid has pointsPerSide² points. */
    pointsPerSide: z.number().int().min(1).max(256).default(32),
    /** Prompts per decoder call (≤ 1024); ignored by the one-prompt-per-call decoder. */
    pointsPerBatch: z.number().int().min(1).max(1024).default(64),
    /** Keep masks whose predicted IoU is strictly above this. 0 disables the filter. */
    predIouThresh: z.number().min(0).max(1).default(0.88),
    /** Keep masks whose stability score is at least this. 0 disables the filter. */
    stabilityScoreThresh: z.number().min(0).max(1).default(0.95),
    /** Logit offset around the mask threshold used by the stability score. */
    stabilityScoreOffset: z.number().min(0).default(1.0),
    /** Box IoU above which NMS drops the lower-scoring of two masks of one crop. */
    boxNmsThresh: z.number().min(0).max(1).default(0.7),
    /** Extra crop layers; layer i has (2^i)² crops. */
    cropNLayers: z.number().int().min(0).max(4).default(0),
    /** Box IoU above which NMS across crops drops the mask from the larger crop. */
    cropNmsThresh: z.number().min(0).max(1).default(0.7),
    /** Overlap of neighbouring first-layer crops, as a fraction of the image's short side. */
    cropOverlapRatio: z
      .number()
      .min(0)
      .max(1)
      .default(512 / 1500),
    /** Points per side in crop layer n are pointsPerSide / factor^n. */
    cropNPointsDownscaleFactor: z.number().int().min(1).default(1),
    /** If > 0, fill holes and remove islands smaller than this many pixels, then NMS again. */
    minMaskRegionArea: z.number().int().min(0).default(0),
    /** Logit threshold of a mask (SAM's `mask_threshold`). */
    maskThreshold: z.number().default(0),
  })
  .strict();

/** Fully resolved AMG settings. */
export type AmgOptions = z.output<typeof AmgOptionsSchema>;
/** AMG settings as a caller gives them: every field optional. */
export type AmgOptionsInput = z.input<typeof AmgOptionsSchema>;

/** Thrown for invalid AMG settings; `code` is stable for callers. */
export class AmgOptionsError extends Error {
  readonly code = 'AMG_BAD_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'AmgOptionsError';
  }
}

/** Resolves defaults and validates; throws {@link AmgOptionsError} with every problem on one line. */
export function parseAmgOptions(input: AmgOptionsInput = {}): AmgOptions {
  const r = AmgOptionsSchema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
    throw new AmgOptionsError(`invalid AMG options: ${msg}`);
  }
  return r.data;
}

/** One generated mask, as SAM's generator returns it with `output_mode="coco_rle"`. */
export interface AmgMask {
  /** COCO RLE (compressed counts) in the full image frame. */
  segmentation: { size: [number, number]; counts: string };
  /** Mask area in pixels. */
  area: number;
  /** SAM's box: `[x0, y0, x1 - x0, y1 - y0]` of the inclusive pixel extent (one less than COCO's bbox width). */
  bbox: BoxXywh;
  predictedIou: number;
  stabilityScore: number;
  /** The grid point that prompted this mask, in image pixels. */
  pointCoords: [[number, number]];
  /** The crop the mask came from, XYWH in image pixels. */
  cropBox: BoxXywh;
}
