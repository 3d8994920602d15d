// The table of every service contract and the API types derived from it.
import type { ServiceClient, ServiceImpl, ServiceSpec } from './core.js';
import { annotations } from './annotations.js';
import { app } from './app.js';
import { categories } from './categories.js';
import { exportService } from './export.js';
import { images } from './images.js';
import { jobs } from './jobs.js';
import { models } from './models.js';
import { projects } from './projects.js';
import { segmentation } from './segmentation.js';

/** All services, keyed by service name (= the first half of their channels). */
export const contracts = {
  app,
  projects,
  images,
  segmentation,
  annotations,
  categories,
  models,
  jobs,
  export: exportService,
} as const;

export type Contracts = typeof contracts;
export type ServiceName = keyof Contracts;

/** The whole typed API as the renderer sees it: `api.images.list({...})`, `api.jobs.onProgress(cb)`. */
export type MaskroomApi = { [K in ServiceName]: ServiceClient<Contracts[K]> };

/** What a backend implements: one function per method of every service. */
export type MaskroomImpl<Ctx = unknown> = { [K in ServiceName]: ServiceImpl<Contracts[K], Ctx> };

/** Every service spec (for channel tables, preload generation, handler registration). */
export function allServices(): ServiceSpec[] {
  return Object.values(contracts) as ServiceSpec[];
}
