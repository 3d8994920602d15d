// Categories (labels): name, display color and an optional number key 0–9 for quick relabeling.
import { z } from 'zod';
import { defineService, method } from './core.js';
import { ColorSchema, IdSchema, NoArgs } from './schemas.js';

export const CategorySchema = z.object({
  id: IdSchema,
  name: z.string(),
  color: ColorSchema,
  /** Keyboard shortcut 0–9, unique in a project, or null. */
  key: z.number().int().min(0).max(9).nullable(),
});
export type Category = z.infer<typeof CategorySchema>;

const NameSchema = z.string().trim().min(1).max(200);
const KeySchema = z.number().int().min(0).max(9).nullable();

export const categories = defineService('categories', {
  methods: {
    list: method({ doc: 'All categories, by id.', args: NoArgs, result: z.array(CategorySchema) }),
    create: method({
      doc: 'Creates a category; the color defaults to a palette entry. CONFLICT on a duplicate name or key.',
      args: z.strictObject({ name: NameSchema, color: ColorSchema.optional(), key: KeySchema.optional() }),
      result: CategorySchema,
    }),
    update: method({
      doc: 'Renames / recolors / rekeys a category. CONFLICT on a duplicate name or key.',
      args: z.strictObject({
        id: IdSchema,
        name: NameSchema.optional(),
        color: ColorSchema.optional(),
        key: KeySchema.optional(),
      }),
      result: CategorySchema,
    }),
    delete: method({
      doc: 'Deletes a category; its annotations move to `reassignTo` first. CONFLICT when it is still used and no reassignTo is given.',
      args: z.strictObject({ id: IdSchema, reassignTo: IdSchema.optional() }),
      result: z.null(),
    }),
  },
  events: {
    changed: z.array(CategorySchema),
  },
});
