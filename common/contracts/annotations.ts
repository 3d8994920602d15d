// Annotations: masks with a category on an image. Every mutating call is one undo step of the project
// history. Visibility is a renderer concern and not part of this contract.
import { z } from 'zod';
import { defineService, method } from './core.js';
import { AnnotationStatusSchema, BboxSchema, IdSchema, NoArgs, RleSchema } from './schemas.js';

export const AnnotationSchema = z.object({
  id: IdSchema,
  imageId: IdSchema,
  /** Stored annotations always have a category; `null` only ever appears in arguments (see create). */
  categoryId: IdSchema.nullable(),
  rle: RleSchema,
  bbox: BboxSchema,
  area: z.number().int().nonnegative(),
  /** Decoder IoU prediction for machine-made masks, null for manual edits. */
  score: z.number().nullable(),
  status: AnnotationStatusSchema,
  /**
   * A box without a mask yet (e.g. imported from a detection dataset; boxes→masks turns it into one).
   * Its `rle` is then the filled box, so it can still be drawn.
   */
  boxOnly: z.boolean().default(false),
  /** How it was made. */
  source: z.enum(['click', 'box', 'brush', 'auto', 'boxesToMasks', 'import']),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type Annotation = z.infer<typeof AnnotationSchema>;

/** Result of undo / redo: what changed, so the renderer can refetch that image. */
export const HistoryStepSchema = z.object({
  /** False when there was nothing to undo / redo. */
  changed: z.boolean(),
  /** Short description of the step ("create annotation", "accept 12"). */
  label: z.string().nullable(),
  imageIds: z.array(IdSchema),
  canUndo: z.boolean(),
  canRedo: z.boolean(),
});
export type HistoryStep = z.infer<typeof HistoryStepSchema>;

export const annotations = defineService('annotations', {
  methods: {
    list: method({
      doc: 'Annotations of an image, proposed ones included, by id.',
      args: z.strictObject({ imageId: IdSchema }),
      result: z.array(AnnotationSchema),
    }),
    create: method({
      doc: 'Creates an accepted annotation from a mask (the candidate the user kept); RLE size must match the image. categoryId null = the default category "object" (created when absent).',
      args: z.strictObject({
        imageId: IdSchema,
        categoryId: IdSchema.nullable(),
        rle: RleSchema,
        score: z.number().nullable().default(null),
        source: z.enum(['click', 'box', 'brush']).default('click'),
      }),
      result: AnnotationSchema,
    }),
    updateMask: method({
      doc: 'Replaces the mask (brush / eraser result). An empty mask is INVALID_ARGUMENT; delete instead.',
      args: z.strictObject({ id: IdSchema, rle: RleSchema }),
      result: AnnotationSchema,
    }),
    relabel: method({
      doc: 'Sets the category of annotations (null = the default category "object").',
      args: z.strictObject({ ids: z.array(IdSchema).min(1).max(10_000), categoryId: IdSchema.nullable() }),
      result: z.array(AnnotationSchema),
    }),
    delete: method({
      doc: 'Deletes annotations (one undo step).',
      args: z.strictObject({ ids: z.array(IdSchema).min(1).max(10_000) }),
      result: z.object({ deleted: z.number().int().nonnegative() }),
    }),
    accept: method({
      doc: 'Accepts proposals: given ids, or all of an image, optionally only those scoring at least minScore.',
      args: z
        .strictObject({
          ids: z.array(IdSchema).max(10_000).optional(),
          imageId: IdSchema.optional(),
          minScore: z.number().min(0).max(1).optional(),
          categoryId: IdSchema.nullable().optional(),
        })
        .refine((a) => a.ids !== undefined || a.imageId !== undefined, 'give ids or imageId'),
      result: z.object({ accepted: z.number().int().nonnegative() }),
    }),
    reject: method({
      doc: 'Rejects (deletes) proposals: given ids, or all of an image, optionally only those scoring below maxScore.',
      args: z
        .strictObject({
          ids: z.array(IdSchema).max(10_000).optional(),
          imageId: IdSchema.optional(),
          maxScore: z.number().min(0).max(1).optional(),
        })
        .refine((a) => a.ids !== undefined || a.imageId !== undefined, 'give ids or imageId'),
      result: z.object({ rejected: z.number().int().nonnegative() }),
    }),
    undo: method({
      doc: 'Undoes the last annotation step of the project.',
      args: NoArgs,
      result: HistoryStepSchema,
    }),
    redo: method({ doc: 'Redoes the last undone step.', args: NoArgs, result: HistoryStepSchema }),
  },
  events: {
    /** Annotations of these images changed (any cause: this or another window, jobs, undo / redo). */
    changed: z.object({ imageIds: z.array(IdSchema) }),
  },
});
