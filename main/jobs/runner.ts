// The loop every image job shares: skip images finished before (resume), do the slow part off the
// transaction, then commit the image's results and its completion in ONE transaction, so a crash leaves
// either both or neither. Pause and cancel take effect between images.
import { EventEmitter } from 'node:events';
import type { ImageRecord, Project } from '../store/index.js';
import type { AutoJobKind, JobProgress, JobRunState } from './types.js';

/** Work for one image: the slow part runs in `process`; the returned write runs inside the transaction. */
export type ImageWork = (img: ImageRecord) => Promise<(now: number) => void>;

/**
 * Starts preparing an image before its turn (decoding and encoding it in the engine's cache), so that CPU
 * decoding of image i+1 overlaps the GPU work on image i. Fire-and-forget: failures surface in `work`.
 */
export type ImagePrefetch = (img: ImageRecord) => void;

/** An error that stops the whole job (the model is gone, the database is broken), not just one image. */
export type IsFatal = (err: unknown) => boolean;

const EMIT_INTERVAL_MS = 100;

function errorInfo(err: unknown): { code: string; message: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      code: typeof code === 'string' ? code : err.name,
      message: err.message.split('\n')[0] ?? err.message,
    };
  }
  return { code: 'unknown', message: String(err) };
}

/** A running (or finished) job: progress events, pause, resume, cancel, and a promise of the outcome. */
export class JobHandle {
  private readonly emitter = new EventEmitter();
  private state: JobRunState = 'queued';
  private pauseWaiter: { promise: Promise<void>; release: () => void } | null = null;
  private cancelled = false;
  private suspended = false;
  private current = '';
  private doneCount = 0;
  private failedCount = 0;
  private doneThisRun = 0;
  private runStartedAt = 0;
  private lastEmit = 0;
  private finishedAt: number | null = null;
  private error: { code: string; message: string } | null = null;
  readonly startedAt = Date.now();
  /** Resolves with the final progress when the job ends (done, cancelled or failed); never rejects. */
  readonly done: Promise<JobProgress>;

  constructor(
    readonly id: number,
    readonly kind: AutoJobKind,
    private readonly total: number,
    run: (h: JobHandle) => Promise<void>,
  ) {
    // Started on the next microtask, so callers can subscribe before the first event.
    this.done = Promise.resolve()
      .then(() => run(this))
      .then(
        () => this.progress(),
        () => this.progress(),
      );
  }

  /** Subscribes to progress (state changes always, otherwise at most ~10 per second). Returns a disposer. */
  onProgress(cb: (p: JobProgress) => void): () => void {
    this.emitter.on('progress', cb);
    return () => this.emitter.off('progress', cb);
  }

  /** Current progress. */
  progress(): JobProgress {
    const elapsed = (Date.now() - this.runStartedAt) / 1000;
    const rate = this.doneThisRun > 0 && elapsed > 0 ? this.doneThisRun / elapsed : null;
    const left = this.total - this.doneCount;
    return {
      jobId: this.id,
      kind: this.kind,
      state: this.state,
      done: this.doneCount,
      total: this.total,
      failed: this.failedCount,
      imagesPerSecond: rate,
      etaSeconds: rate ? left / rate : left === 0 ? 0 : null,
      message: this.current,
      error: this.error,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
    };
  }

  /** Pauses after the current image. */
  pause(): void {
    if (this.state !== 'running' && this.state !== 'queued') return;
    if (!this.pauseWaiter) {
      let release!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      this.pauseWaiter = { promise, release };
    }
  }

  /** Continues a paused job. */
  resume(): void {
    const w = this.pauseWaiter;
    this.pauseWaiter = null;
    w?.release();
  }

  /** Stops after the current image; finished images keep their results. */
  cancel(): void {
    this.cancelled = true;
    this.resume();
  }

  /**
   * Stops after the current image but leaves the job `paused` in the project, so resumeJob (or the same
   * CLI command) continues it later — what Ctrl-C and app shutdown do.
   */
  suspend(): void {
    this.suspended = true;
    this.resume();
  }

  /** @internal used by runImageJob */
  _set(
    patch: {
      state?: JobRunState;
      current?: string;
      done?: number;
      failed?: number;
      error?: { code: string; message: string };
    },
    force = false,
  ): void {
    const stateChanged = patch.state !== undefined && patch.state !== this.state;
    if (patch.state) this.state = patch.state;
    if (patch.current !== undefined) this.current = patch.current;
    if (patch.done !== undefined) this.doneCount = patch.done;
    if (patch.failed !== undefined) this.failedCount = patch.failed;
    if (patch.error) this.error = patch.error;
    if (this.state === 'done' || this.state === 'cancelled' || this.state === 'failed')
      this.finishedAt ??= Date.now();
    const now = Date.now();
    if (force || stateChanged || now - this.lastEmit >= EMIT_INTERVAL_MS) {
      this.lastEmit = now;
      this.emitter.emit('progress', this.progress());
    }
  }

  /** @internal */
  _beginRun(done: number, failed: number): void {
    this.runStartedAt = Date.now();
    this.doneCount = done;
    this.failedCount = failed;
  }

  /** @internal */
  _countThisRun(): void {
    this.doneThisRun++;
  }

  /** @internal */
  async _gate(onPause: (paused: boolean) => void): Promise<'go' | 'cancel' | 'suspend'> {
    if (this.cancelled) return 'cancel';
    if (this.suspended) return 'suspend';
    if (this.pauseWaiter) {
      onPause(true);
      this._set({ state: 'paused' }, true);
      await this.pauseWaiter.promise;
      if (this.cancelled) return 'cancel';
      if (this.suspended) return 'suspend';
      onPause(false);
      this._set({ state: 'running' }, true);
    }
    return 'go';
  }
}

/**
 * Runs `work` over `images` as job `jobId` (a row of the project's jobs table): images already finished by
 * this job are skipped, each image's results and completion are committed together, per-image errors are
 * recorded as failed items and the job goes on, fatal ones (`isFatal`) fail the job.
 */
export function runImageJob(args: {
  project: Project;
  jobId: number;
  kind: AutoJobKind;
  images: ImageRecord[];
  work: ImageWork;
  isFatal: IsFatal;
  prefetch?: ImagePrefetch;
}): JobHandle {
  const { project, jobId, kind, images, work, isFatal, prefetch } = args;
  const jobs = project.jobs;
  return new JobHandle(jobId, kind, images.length, async (h) => {
    const finished = jobs.finishedImageIds({ jobId });
    const failedBefore = jobs.failedJobItems({ jobId }).length;
    const selected = new Set(images.map((i) => i.id));
    let done = [...finished].filter((id) => selected.has(id)).length;
    let failed = failedBefore;
    jobs.setJobTotal({ id: jobId, total: images.length });
    jobs.setJobState({ id: jobId, state: 'running' });
    h._beginRun(done, failed);
    h._set({ state: 'running', current: '' }, true);
    try {
      const todo = images.filter((img) => !finished.has(img.id));
      for (const [i, img] of todo.entries()) {
        const gate = await h._gate((paused) =>
          jobs.setJobState({ id: jobId, state: paused ? 'paused' : 'running' }),
        );
        if (gate === 'cancel') {
          jobs.setJobState({ id: jobId, state: 'cancelled' });
          h._set({ state: 'cancelled', current: 'cancelled' }, true);
          return;
        }
        if (gate === 'suspend') {
          jobs.setJobState({ id: jobId, state: 'paused' });
          h._set({ state: 'paused', current: 'paused' }, true);
          return;
        }
        h._set({ current: img.path });
        const next = todo[i + 1];
        if (prefetch && next) prefetch(next);
        let write: ((now: number) => void) | null = null;
        let itemError: unknown = null;
        try {
          write = await work(img);
        } catch (err) {
          if (isFatal(err)) throw err;
          itemError = err;
        }
        const now = Date.now();
        project.transaction(() => {
          if (write) write(now);
          jobs.finishJobItem({
            jobId,
            imageId: img.id,
            state: write ? 'done' : 'failed',
            error: itemError ? `${errorInfo(itemError).code}: ${errorInfo(itemError).message}` : null,
            now,
          });
        });
        done++;
        if (!write) failed++;
        h._countThisRun();
        h._set({ done, failed });
      }
      jobs.setJobState({ id: jobId, state: 'done' });
      h._set({ state: 'done', current: '' }, true);
    } catch (err) {
      const info = errorInfo(err);
      try {
        jobs.setJobState({ id: jobId, state: 'failed', error: `${info.code}: ${info.message}` });
      } catch {
        // The database itself may be what failed; the event below still reports it.
      }
      h._set({ state: 'failed', error: info, current: info.message }, true);
      throw err;
    }
  });
}
