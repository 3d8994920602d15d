// Schemas shared by several services. Everything is JSON-safe (no Date, bigint or typed arrays) so the
// same payloads cross Electron IPC and the web mode WebSocket unchanged.
import { z } from 'zod';

/** Database row id (SQLite integer primary key). */
export const IdSchema = z.number().int().positive();

/** An absolute or project-relative path as typed or picked by the user; the backend confines it. */
export const PathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'path contains a NUL byte');

/** `#rrggbb`. */
export const ColorSchema = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'color must be #rrggbb');

/**
 * A mask in COCO RLE: `size` is [height, width], `counts` is pycocotools' compressed string (column-major,
 * starting with the background run). Produced and read by `common/rle`.
 */
export const RleSchema = z.object({
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  counts: z.string().max(64 * 1024 * 1024),
});
export type Rle = z.infer<typeof RleSchema>;

/** [x, y, width, height] in image pixels, COCO order. */
export const BboxSchema = z.tuple([
  z.number(),
  z.number(),
  z.number().nonnegative(),
  z.number().nonnegative(),
]);
export type Bbox = z.infer<typeof BboxSchema>;

/** A click prompt in image pixels (displayed orientation). label 1 = include, 0 = exclude. */
export const PointPromptSchema = z.object({
  x: z.number().finite(),
  y: z.number().finite(),
  label: z.union([z.literal(0), z.literal(1)]),
});
export type PointPrompt = z.infer<typeof PointPromptSchema>;

/** A box prompt, corners in image pixels (displayed orientation). */
export const BoxPromptSchema = z
  .object({
    x0: z.number().finite(),
    y0: z.number().finite(),
    x1: z.number().finite(),
    y1: z.number().finite(),
  })
  .refine((b) => b.x1 > b.x0 && b.y1 > b.y0, 'box must have x1 > x0 and y1 > y0');
export type BoxPrompt = z.infer<typeof BoxPromptSchema>;

/** Review status of an image. */
export const ImageStatusSchema = z.enum(['new', 'in_progress', 'done', 'skipped']);
export type ImageStatus = z.infer<typeof ImageStatusSchema>;

/** Annotation status: `proposed` comes from auto-annotate / boxes→masks and waits for review. */
export const AnnotationStatusSchema = z.enum(['proposed', 'accepted']);
export type AnnotationStatus = z.infer<typeof AnnotationStatusSchema>;

/** Job kinds run in the background. */
export const JobKindSchema = z.enum([
  'importFolder',
  'autoAnnotate',
  'boxesToMasks',
  'modelDownload',
  'export',
]);
export type JobKind = z.infer<typeof JobKindSchema>;

export const JobStateSchema = z.enum(['queued', 'running', 'paused', 'done', 'failed', 'cancelled']);
export type JobState = z.infer<typeof JobStateSchema>;

/** A background job and its progress; also the payload of `jobs.progress`. */
export const JobInfoSchema = z.object({
  id: z.string().min(1),
  kind: JobKindSchema,
  state: JobStateSchema,
  /** Units done so far (images, bytes for downloads). */
  done: z.number().nonnegative(),
  /** Total units, null while unknown. */
  total: z.number().nonnegative().nullable(),
  /** Short human text: the current file, the current stage. */
  message: z.string(),
  /** Set when state is `failed`. */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  /** ms since epoch. */
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
});
export type JobInfo = z.infer<typeof JobInfoSchema>;

/** Empty argument object for methods without parameters. */
export const NoArgs = z.object({}).strict();

/** Pagination shared by list methods. */
export const PageSchema = z.object({
  offset: z.number().int().nonnegative().default(0),
  limit: z.number().int().positive().max(10_000).default(500),
});
