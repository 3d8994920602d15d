// Throttle for the live hover preview: at most one hover request in flight; while it runs, only the
// newest pointer position is remembered and sent next. Older positions are simply forgotten, so a
// fast-moving pointer never builds a queue in the engine. DOM-free, tested in Node.

/** Sends `T`s one at a time, keeping only the latest one that arrived while busy. */
export class LatestThrottle<T> {
  private busy = false;
  private queued: T | null = null;
  private disposed = false;

  constructor(private readonly send: (item: T) => Promise<void>) {}

  /** Sends now when idle, else replaces whatever was waiting. */
  submit(item: T): void {
    if (this.disposed) return;
    if (this.busy) {
      this.queued = item;
      return;
    }
    void this.run(item);
  }

  /** Forgets the waiting item (e.g. the pointer left the image). */
  clear(): void {
    this.queued = null;
  }

  /** Stops sending; an in-flight item still completes. */
  dispose(): void {
    this.disposed = true;
    this.queued = null;
  }

  private async run(item: T): Promise<void> {
    this.busy = true;
    try {
      await this.send(item);
    } catch {
      // The sender reports its own errors; a failed hover must not stall the next one.
    } finally {
      this.busy = false;
      const next = this.queued;
      this.queued = null;
      if (next !== null && !this.disposed) void this.run(next);
    }
  }
}
