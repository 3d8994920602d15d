// Images of the open project: listing with review status and annotation counts, and bytes for display.
import { z } from 'zod';
import { defineService, method } from './core.js';
import { IdSchema, ImageStatusSchema, PageSchema } from './schemas.js';

export const ImageSummarySchema = z.object({
  id: IdSchema,
  /** Path relative to the project root, `/`-separated. */
  relPath: z.string(),
  fileName: z.string(),
  /** Displayed (EXIF-oriented) size: every coordinate in the contracts uses this frame. */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  status: ImageStatusSchema,
  /** Accepted annotations. */
  annotationCount: z.number().int().nonnegative(),
  /** Proposed (unreviewed) annotations. */
  proposedCount: z.number().int().nonnegative(),
});
export type ImageSummary = z.infer<typeof ImageSummarySchema>;

export const ImageDetailSchema = ImageSummarySchema.extend({
  /** Category ids that occur among its annotations. */
  categoryIds: z.array(IdSchema),
  /** True when the engine has an embedding for it cached. */
  embeddingCached: z.boolean(),
});
export type ImageDetail = z.infer<typeof ImageDetailSchema>;

export const images = defineService('images', {
  methods: {
    list: method({
      doc: 'Images of the project, in import order, filtered by status and/or category.',
      args: z
        .strictObject({
          status: ImageStatusSchema.optional(),
          /** Only images having at least one annotation of this category. */
          categoryId: IdSchema.optional(),
        })
        .extend(PageSchema.shape),
      result: z.object({ items: z.array(ImageSummarySchema), total: z.number().int().nonnegative() }),
    }),
    get: method({
      doc: 'One image.',
      args: z.strictObject({ imageId: IdSchema }),
      result: ImageDetailSchema,
    }),
    setStatus: method({
      doc: 'Sets the review status of an image.',
      args: z.strictObject({ imageId: IdSchema, status: ImageStatusSchema }),
      result: ImageSummarySchema,
    }),
    url: method({
      doc: 'A URL the renderer can put in an <img> / Konva image (custom protocol in Electron, same-origin HTTP in web mode).',
      args: z.strictObject({ imageId: IdSchema }),
      result: z.object({ url: z.string(), width: z.number().int(), height: z.number().int() }),
    }),
    bytes: method({
      doc: 'The image in displayed orientation as base64 (PNG or JPEG), when a URL cannot be used.',
      args: z.strictObject({ imageId: IdSchema }),
      result: z.object({
        mime: z.enum(['image/jpeg', 'image/png']),
        base64: z.string(),
        width: z.number().int(),
        height: z.number().int(),
      }),
    }),
  },
  events: {
    /** Images were added, removed or changed status; refetch lists. `imageIds` empty = many. */
    changed: z.object({ imageIds: z.array(IdSchema) }),
  },
});
