// Background jobs of this backend session: their JobInfo, pause / resume / cancel, and the progress
// event stream (`jobs.progress`), throttled so a fast job cannot flood a WebSocket.
import { AppError, type EventBus, type JobInfo, type JobKind } from '../../common/contracts/index.js';

/** What a running job gets: a cancel signal, progress reporting and a pause point. */
export interface JobControl {
  readonly signal: AbortSignal;
  /** Reports progress; emitted at most every `throttleMs`. */
  progress(done: number, total: number | null, message?: string): void;
  /** Call between units of work: waits while paused; throws CANCELLED once cancelled. */
  checkpoint(): Promise<void>;
}

interface Entry {
  info: JobInfo;
  abort: AbortController;
  paused: boolean;
  pausable: boolean;
  hooks: JobHooks;
  resumeWaiters: (() => void)[];
  done: Promise<void>;
  lastEmit: number;
  timer: ReturnType<typeof setTimeout> | null;
}

const FINAL = new Set(['done', 'failed', 'cancelled']);

/** For jobs whose work runs elsewhere (main/jobs handles): forward pause / resume / shutdown to it. */
export interface JobHooks {
  pausable?: boolean;
  onPause?: () => void;
  onResume?: () => void;
  /** Called instead of aborting when the backend shuts down (e.g. to leave the job resumable). */
  onShutdown?: () => void;
  /** Start in state `paused` with this progress (a job found unfinished in the project); `run` should call checkpoint() first. */
  startPaused?: { done: number; total: number | null };
}

export class JobRegistry {
  private readonly jobs = new Map<string, Entry>();
  private nextId = 1;

  constructor(
    private readonly bus: EventBus,
    private readonly throttleMs = 100,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  private emit(e: Entry, force: boolean): void {
    const now = Date.now();
    if (!force && now - e.lastEmit < this.throttleMs) {
      e.timer ??= setTimeout(() => {
        e.timer = null;
        this.emit(e, true);
      }, this.throttleMs);
      return;
    }
    if (e.timer) {
      clearTimeout(e.timer);
      e.timer = null;
    }
    e.lastEmit = now;
    this.bus.emit('jobs', 'progress', { ...e.info });
  }

  /** Starts `run` in the background and returns its JobInfo at once. */
  start(
    kind: JobKind,
    message: string,
    run: (ctl: JobControl) => Promise<string | void>,
    opts: JobHooks = {},
  ): JobInfo {
    const id = `job-${this.nextId++}`;
    const abort = new AbortController();
    const entry: Entry = {
      info: {
        id,
        kind,
        state: opts.startPaused ? 'paused' : 'running',
        done: opts.startPaused?.done ?? 0,
        total: opts.startPaused?.total ?? null,
        message,
        error: null,
        startedAt: Date.now(),
        finishedAt: null,
      },
      abort,
      paused: opts.startPaused !== undefined,
      pausable: opts.pausable ?? true,
      hooks: opts,
      resumeWaiters: [],
      done: Promise.resolve(),
      lastEmit: 0,
      timer: null,
    };
    this.jobs.set(id, entry);
    const ctl: JobControl = {
      signal: abort.signal,
      progress: (done, total, msg) => {
        entry.info.done = done;
        entry.info.total = total;
        if (msg !== undefined) entry.info.message = msg;
        this.emit(entry, false);
      },
      checkpoint: async () => {
        while (entry.paused && !abort.signal.aborted) {
          await new Promise<void>((resolve) => entry.resumeWaiters.push(resolve));
        }
        if (abort.signal.aborted) throw new AppError('CANCELLED', 'job cancelled');
      },
    };
    this.emit(entry, true);
    entry.done = (async () => {
      try {
        const final = await run(ctl);
        if (abort.signal.aborted) throw new AppError('CANCELLED', 'job cancelled');
        entry.info.state = 'done';
        if (typeof final === 'string') entry.info.message = final;
      } catch (e) {
        if (abort.signal.aborted || (e instanceof AppError && e.code === 'CANCELLED')) {
          entry.info.state = 'cancelled';
        } else {
          entry.info.state = 'failed';
          const code = e instanceof AppError ? e.code : 'INTERNAL';
          entry.info.error = { code, message: e instanceof Error ? e.message : String(e) };
          if (code === 'INTERNAL')
            this.log(`${id} (${kind}) failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        }
      } finally {
        entry.info.finishedAt = Date.now();
        this.emit(entry, true);
      }
    })();
    return { ...entry.info };
  }

  private entry(id: string): Entry {
    const e = this.jobs.get(id);
    if (!e) throw new AppError('NOT_FOUND', `no job "${id}"`);
    return e;
  }

  get(id: string): JobInfo {
    return { ...this.entry(id).info };
  }

  /** Jobs, newest first. */
  list(): JobInfo[] {
    return [...this.jobs.values()].map((e) => ({ ...e.info })).reverse();
  }

  pause(id: string): JobInfo {
    const e = this.entry(id);
    if (FINAL.has(e.info.state))
      throw new AppError(
        'CONFLICT',
        `job ${id} has already ${e.info.state === 'done' ? 'finished' : e.info.state}`,
      );
    if (!e.pausable)
      throw new AppError('UNSUPPORTED', `${e.info.kind} jobs cannot be paused; cancel it instead`);
    e.paused = true;
    e.info.state = 'paused';
    e.hooks.onPause?.();
    this.emit(e, true);
    return { ...e.info };
  }

  resume(id: string): JobInfo {
    const e = this.entry(id);
    if (e.info.state !== 'paused') throw new AppError('CONFLICT', `job ${id} is not paused`);
    e.paused = false;
    e.info.state = 'running';
    e.hooks.onResume?.();
    for (const w of e.resumeWaiters.splice(0)) w();
    this.emit(e, true);
    return { ...e.info };
  }

  /** Cancels a job and waits until it has stopped. */
  async cancel(id: string): Promise<JobInfo> {
    const e = this.entry(id);
    if (FINAL.has(e.info.state))
      throw new AppError(
        'CONFLICT',
        `job ${id} has already ${e.info.state === 'done' ? 'finished' : e.info.state}`,
      );
    e.abort.abort();
    for (const w of e.resumeWaiters.splice(0)) w();
    await e.done;
    return { ...e.info };
  }

  /** Waits for a job to end (tests, shutdown). */
  async settle(id: string): Promise<JobInfo> {
    await this.entry(id).done;
    return { ...this.entry(id).info };
  }

  /** Stops every unfinished job (project closed, app quitting): shutdown hook when it has one, else cancel. */
  async cancelAll(): Promise<void> {
    await Promise.all(
      [...this.jobs.values()]
        .filter((e) => !FINAL.has(e.info.state))
        .map(async (e) => {
          if (e.hooks.onShutdown) {
            e.hooks.onShutdown();
            await e.done;
          } else await this.cancel(e.info.id).catch(() => undefined);
        }),
    );
  }
}
