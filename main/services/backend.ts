// The Backend: one SamEngine (in its worker), the open project store, background jobs, and an
// implementation of every contract method behind a validating dispatcher. Transports (web mode server,
// Electron IPC, in-memory tests) only ever talk to `dispatcher` and `bus`.
import path from 'node:path';
import {
  createDispatcher,
  createEventBus,
  type Dispatcher,
  type EventBus,
  type MaskroomImpl,
} from '../../common/contracts/index.js';
import { EngineHost } from './engine-host.js';
import { mapErrors } from './errors.js';
import type { BackendHost, CallContext, DisplayImage } from './host.js';
import { JobRegistry } from './job-registry.js';
import { ModelStore } from './models-store.js';
import { PathGuard } from './paths.js';
import { BackendState, type BackendOptions } from './state.js';
import { annotationsService, categoriesService } from './svc-annotations.js';
import { displayImage, imagesService } from './svc-images.js';
import { exportService, jobsService } from './svc-jobs.js';
import { appService, closeProject, projectsService } from './svc-projects.js';
import { modelsService, segmentationService } from './svc-segmentation.js';

export type { BackendOptions } from './state.js';

export class Backend implements BackendHost {
  readonly dispatcher: Dispatcher<CallContext>;
  readonly bus: EventBus;
  /** The implementation behind the dispatcher (validated arguments only; for in-process callers). */
  readonly impl: MaskroomImpl<CallContext>;
  private readonly state: BackendState;

  constructor(opts: BackendOptions) {
    const log = opts.log ?? (() => undefined);
    this.bus = createEventBus((e) => log(`event listener failed: ${String(e)}`));
    const guard = new PathGuard(opts.allowedRoots ?? []);
    const models = new ModelStore(opts.dataDir, opts.fixtureModelDir);
    const engine = new EngineHost(models, {
      provider: opts.provider ?? 'auto',
      cacheDir: opts.embeddingCacheDir ?? path.join(opts.dataDir, 'embeddings'),
      log,
    });
    const jobs = new JobRegistry(this.bus, 100, log);
    this.state = new BackendState(opts, guard, this.bus, engine, models, jobs);
    const s = this.state;
    this.impl = {
      app: mapErrors(appService(s)),
      projects: mapErrors(projectsService(s)),
      images: mapErrors(imagesService(s)),
      segmentation: mapErrors(segmentationService(s)),
      annotations: mapErrors(annotationsService(s)),
      categories: mapErrors(categoriesService(s)),
      models: mapErrors(modelsService(s)),
      jobs: mapErrors(jobsService(s)),
      export: mapErrors(exportService(s)),
    };
    this.dispatcher = createDispatcher(this.impl, (channel, e) =>
      log(`${channel} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
    );
  }

  /** Allows one more folder for path arguments (e.g. one picked in a native dialog). */
  allowRoot(dir: string): string {
    return this.state.guard.add(dir);
  }

  async displayImage(imageId: number): Promise<DisplayImage> {
    try {
      return await displayImage(this.state, imageId);
    } catch (e) {
      const { toAppError } = await import('./errors.js');
      throw toAppError(e);
    }
  }

  async debugState(): Promise<unknown> {
    const p = this.state.project;
    return {
      project: p
        ? { root: p.dir, images: p.images.imageCounts(), annotations: p.annotations.annotationCounts() }
        : null,
      jobs: this.state.jobs.list(),
      allowedRoots: this.state.guard.roots(),
    };
  }

  /** Waits for a job to finish (tests, CLI). */
  settleJob(jobId: string) {
    return this.state.jobs.settle(jobId);
  }

  /** Cancels jobs, closes the project and stops the engine worker. */
  async close(): Promise<void> {
    await closeProject(this.state);
    await this.state.engine.stop();
  }
}
