// Projects: one project = one folder holding the database (`maskroom.db`) and, usually, its images.
// Exactly one project is open at a time in a backend.
import { z } from 'zod';
import { defineService, method } from './core.js';
import { IdSchema, JobInfoSchema, NoArgs, PathSchema } from './schemas.js';

/** The open project. `root` is absolute; every project path argument is confined under it. */
export const ProjectInfoSchema = z.object({
  root: z.string(),
  name: z.string(),
  /** ms since epoch. */
  createdAt: z.number(),
  imageCount: z.number().int().nonnegative(),
});
export type ProjectInfo = z.infer<typeof ProjectInfoSchema>;

export const RecentProjectSchema = z.object({
  root: z.string(),
  name: z.string(),
  openedAt: z.number(),
  /** False when the folder or its database has gone. */
  exists: z.boolean(),
});
export type RecentProject = z.infer<typeof RecentProjectSchema>;

export const ProjectStatsSchema = z.object({
  images: z.number().int().nonnegative(),
  imagesByStatus: z.object({
    new: z.number().int().nonnegative(),
    in_progress: z.number().int().nonnegative(),
    done: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
  }),
  annotations: z.number().int().nonnegative(),
  proposed: z.number().int().nonnegative(),
  categories: z.number().int().nonnegative(),
  /** Accepted annotations per category id (null key = uncategorised is reported as id 0). */
  annotationsByCategory: z.array(
    z.object({ categoryId: IdSchema.or(z.literal(0)), count: z.number().int() }),
  ),
});
export type ProjectStats = z.infer<typeof ProjectStatsSchema>;

export const projects = defineService('projects', {
  methods: {
    create: method({
      doc: 'Creates a project in an (empty or image) folder inside an allowed root and opens it.',
      args: z.strictObject({ root: PathSchema, name: z.string().min(1).max(200) }),
      result: ProjectInfoSchema,
    }),
    open: method({
      doc: 'Opens an existing project folder (closing the current one).',
      args: z.strictObject({ root: PathSchema }),
      result: ProjectInfoSchema,
    }),
    close: method({
      doc: 'Closes the open project; cancels its running jobs.',
      args: NoArgs,
      result: z.null(),
    }),
    current: method({
      doc: 'The open project, or null.',
      args: NoArgs,
      result: ProjectInfoSchema.nullable(),
    }),
    recent: method({
      doc: 'Recently opened projects, newest first.',
      args: NoArgs,
      result: z.array(RecentProjectSchema),
    }),
    importFolder: method({
      doc: 'Adds the images of a folder (inside the project or an allowed root) as a background job; progress via jobs.progress.',
      args: z.strictObject({
        dir: PathSchema,
        /** Imports are always recursive; `false` is answered UNSUPPORTED. */
        recursive: z.boolean().default(true),
      }),
      result: JobInfoSchema,
    }),
    stats: method({ doc: 'Counts for the dashboard.', args: NoArgs, result: ProjectStatsSchema }),
  },
  events: {
    /** The open project changed (opened, closed, renamed); payload null on close. */
    changed: ProjectInfoSchema.nullable(),
  },
});
