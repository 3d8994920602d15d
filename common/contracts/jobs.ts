// Background jobs over the open project: auto-annotate (automatic mask generation) and boxes→masks,
// plus the jobs other services start (folder import, model download). Progress is an event stream.
import { z } from 'zod';
import { defineService, method } from './core.js';
import { IdSchema, JobInfoSchema, NoArgs } from './schemas.js';

/** Which images a job covers: explicit ids, or all images with one of these statuses (default: all). */
export const ImageSelectionSchema = z.union([
  z.strictObject({ imageIds: z.array(IdSchema).min(1).max(1_000_000) }),
  z.strictObject({ statuses: z.array(z.enum(['new', 'in_progress', 'done', 'skipped'])).min(1) }),
  z.strictObject({ all: z.literal(true) }),
]);
export type ImageSelection = z.infer<typeof ImageSelectionSchema>;

export const AutoAnnotateParamsSchema = z.strictObject({
  /** Points per side of the prompt grid (SAM AMG default 32). */
  pointsPerSide: z.number().int().min(4).max(64).default(32),
  /** Minimum predicted IoU to keep a mask. */
  predIouThresh: z.number().min(0).max(1).default(0.88),
  /** Minimum stability score. */
  stabilityScoreThresh: z.number().min(0).max(1).default(0.95),
  /** NMS IoU threshold between kept masks. */
  boxNmsThresh: z.number().min(0).max(1).default(0.7),
  /** SAM's min_mask_region_area: islands and holes smaller than this many pixels are removed (0 = off). */
  minMaskArea: z.number().int().nonnegative().default(0),
  /** Category for the proposals, or null. */
  categoryId: IdSchema.nullable().default(null),
});
export type AutoAnnotateParams = z.infer<typeof AutoAnnotateParamsSchema>;

export const jobs = defineService('jobs', {
  methods: {
    startAutoAnnotate: method({
      doc: 'Proposes masks for every object of the selected images (status `proposed`).',
      args: z.strictObject({
        images: ImageSelectionSchema,
        params: AutoAnnotateParamsSchema.default(AutoAnnotateParamsSchema.parse({})),
      }),
      result: JobInfoSchema,
    }),
    startBoxesToMasks: method({
      doc: 'Turns box-only annotations (e.g. imported COCO boxes) of the selected images into proposed masks.',
      args: z.strictObject({ images: ImageSelectionSchema }),
      result: JobInfoSchema,
    }),
    pause: method({
      doc: 'Pauses a running job after its current image.',
      args: z.strictObject({ jobId: z.string().min(1) }),
      result: JobInfoSchema,
    }),
    resume: method({
      doc: 'Resumes a paused job.',
      args: z.strictObject({ jobId: z.string().min(1) }),
      result: JobInfoSchema,
    }),
    cancel: method({
      doc: 'Cancels a job; work already saved stays.',
      args: z.strictObject({ jobId: z.string().min(1) }),
      result: JobInfoSchema,
    }),
    list: method({
      doc: 'Jobs of this session, newest first; auto-annotate / boxes→masks jobs an earlier session left unfinished appear as paused (resume continues them).',
      args: NoArgs,
      result: z.array(JobInfoSchema),
    }),
  },
  events: {
    /** Every state change and at most ~10 progress updates per second per job. */
    progress: JobInfoSchema,
  },
});
