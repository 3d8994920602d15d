// The host itself: which mode it runs in, which folders it may touch, and (Electron only) a native folder
// picker that adds the chosen folder to the allowed roots.
import { z } from 'zod';
import { defineService, method } from './core.js';
import { NoArgs } from './schemas.js';

export const AppInfoSchema = z.object({
  mode: z.enum(['electron', 'web', 'test']),
  version: z.string(),
  /** Folders path arguments may point into (the project root and user-chosen folders). */
  allowedRoots: z.array(z.string()),
  /** Path separator of the backend's OS, for display. */
  sep: z.enum(['/', '\\']),
});
export type AppInfo = z.infer<typeof AppInfoSchema>;

export const app = defineService('app', {
  methods: {
    info: method({ doc: 'Host mode, version and allowed roots.', args: NoArgs, result: AppInfoSchema }),
    pickFolder: method({
      doc: 'Native folder dialog (Electron); the chosen folder becomes an allowed root. UNSUPPORTED in web mode.',
      args: z.strictObject({ title: z.string().max(200).optional() }),
      result: z.object({ path: z.string().nullable() }),
    }),
    pickFile: method({
      doc: 'Native file dialog (Electron); the chosen file’s folder becomes an allowed root. UNSUPPORTED in web mode.',
      args: z.strictObject({
        title: z.string().max(200).optional(),
        extensions: z
          .array(z.string().regex(/^[a-z0-9]+$/))
          .max(20)
          .optional(),
      }),
      result: z.object({ path: z.string().nullable() }),
    }),
  },
  events: {},
});
