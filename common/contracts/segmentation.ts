// Interactive segmentation: embed an image once (slow, in the engine worker), then segment many prompts
// against it (fast). Masks cross as RLE; refinement reuses the previous low-res logits by handle id.
import { z } from 'zod';
import { defineService, method } from './core.js';
import { BboxSchema, BoxPromptSchema, IdSchema, PointPromptSchema, RleSchema } from './schemas.js';

export const MaskCandidateSchema = z.object({
  rle: RleSchema,
  /** The decoder's predicted IoU. */
  score: z.number(),
  bbox: BboxSchema,
  area: z.number().int().nonnegative(),
  /**
   * Handle of this candidate's 256×256 low-res logits, kept by the backend for a while (LRU). Pass it as
   * `maskInputId` in the next `segment` call to refine with more clicks.
   */
  lowResId: z.string(),
});
export type MaskCandidate = z.infer<typeof MaskCandidateSchema>;

export const SegmentArgsSchema = z
  .strictObject({
    imageId: IdSchema,
    points: z.array(PointPromptSchema).max(64).default([]),
    box: BoxPromptSchema.optional(),
    /** lowResId of a previous candidate of the same image. */
    maskInputId: z.string().min(1).max(200).optional(),
    /** Return the 3 multimask candidates (best first) for a single ambiguous click; else one mask. */
    multimask: z.boolean().default(false),
  })
  .refine((a) => a.points.length > 0 || a.box !== undefined, 'give at least one point or a box');

export const EmbeddingReadySchema = z.object({
  imageId: IdSchema,
  /** Time the encoder took; 0 when it came from the cache. */
  ms: z.number().nonnegative(),
  cached: z.boolean(),
});
export type EmbeddingReady = z.infer<typeof EmbeddingReadySchema>;

export const segmentation = defineService('segmentation', {
  methods: {
    prepare: method({
      doc: 'Computes (or finds cached) the embedding of an image; resolves when ready and also emits embeddingReady.',
      args: z.strictObject({ imageId: IdSchema }),
      result: EmbeddingReadySchema,
    }),
    segment: method({
      doc: 'Segments points and/or a box (optionally refining a previous mask) on a prepared image (prepares it if needed).',
      args: SegmentArgsSchema,
      result: z.object({
        imageId: IdSchema,
        candidates: z.array(MaskCandidateSchema).min(1),
        ms: z.number(),
      }),
    }),
    prefetch: method({
      doc: 'Queues embeddings of the next images in the background (lower priority than interactive work).',
      args: z.strictObject({ imageIds: z.array(IdSchema).max(32) }),
      result: z.object({ queued: z.number().int().nonnegative() }),
    }),
  },
  events: {
    embeddingReady: EmbeddingReadySchema,
  },
});
