// Export the project's annotations: COCO with RLE masks (pycocotools-exact), COCO with polygons, or one
// PNG mask per annotation. The target path is confined to allowed roots.
import { z } from 'zod';
import { defineService, method } from './core.js';
import { IdSchema, PathSchema } from './schemas.js';

export const ExportFormatSchema = z.enum(['coco-rle', 'coco-polygons', 'png-masks']);
export type ExportFormat = z.infer<typeof ExportFormatSchema>;

export const ExportResultSchema = z.object({
  /** Absolute path written: the JSON file, or the folder for png-masks. */
  path: z.string(),
  images: z.number().int().nonnegative(),
  annotations: z.number().int().nonnegative(),
  categories: z.number().int().nonnegative(),
});
export type ExportResult = z.infer<typeof ExportResultSchema>;

export const exportService = defineService('export', {
  methods: {
    toPath: method({
      doc: 'Writes the export. `path` is a .json file for COCO formats, a folder for png-masks.',
      args: z.strictObject({
        format: ExportFormatSchema,
        path: PathSchema,
        /** Also export proposed (unreviewed) annotations. */
        includeProposed: z.boolean().default(false),
        /** Restrict to these images (default: all). */
        imageIds: z.array(IdSchema).max(1_000_000).optional(),
        overwrite: z.boolean().default(false),
      }),
      result: ExportResultSchema,
    }),
  },
  events: {},
});
