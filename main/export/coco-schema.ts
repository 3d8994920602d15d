// The shapes of a COCO instances file we accept, as zod schemas. Records are checked one by one so an
// error can name the record (`annotations[17] (id 4242): …`).
import { z } from 'zod';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const id = z.number().int('must be an integer').nonnegative('must be ≥ 0').max(Number.MAX_SAFE_INTEGER);

export const cocoImageSchema = z.object({
  id,
  file_name: z.string().min(1, 'must not be empty'),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

export const cocoCategorySchema = z.object({
  id,
  name: z.string().min(1, 'must not be empty'),
  supercategory: z.string().nullish(),
});

const size = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]);
export const cocoRleSchema = z.object({
  size,
  counts: z.union([z.string(), z.array(z.number())]),
});
export const cocoPolygonsSchema = z.array(z.array(finite));

export const cocoAnnotationSchema = z.object({
  id,
  image_id: id,
  category_id: id,
  segmentation: z.union([cocoPolygonsSchema, cocoRleSchema]).nullish(),
  bbox: z.tuple([finite, finite, finite, finite]).nullish(),
  iscrowd: z.union([z.literal(0), z.literal(1)]).nullish(),
  score: finite.nullish(),
  area: finite.nullish(),
});

export const cocoFileSchema = z.object({
  images: z.array(z.unknown()),
  annotations: z.array(z.unknown()),
  categories: z.array(z.unknown()),
});

export type CocoImage = z.infer<typeof cocoImageSchema>;
export type CocoCategory = z.infer<typeof cocoCategorySchema>;
export type CocoAnnotation = z.infer<typeof cocoAnnotationSchema>;

/** zod's first issue as `field.path: message`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${where.replace(/^\./, '') || '(record)'}: ${issue.message}`;
}
