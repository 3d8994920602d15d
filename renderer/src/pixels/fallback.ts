// A WorkerLike that uses the real pixel worker and, if the worker cannot start (e.g. module workers
// refused under a file:// origin), runs the same handler on the UI thread instead, re-sending whatever
// was in flight. Slower on big masks, but the editor keeps working.
import type { WorkerLike } from './client.js';
import { PixelHandler } from './handler.js';
import type { PixelRequest, PixelResponse } from './protocol.js';

/** The subset of the DOM Worker used here. */
export interface RealWorker {
  postMessage(msg: PixelRequest): void;
  addEventListener(type: 'message', cb: (ev: MessageEvent<PixelResponse>) => void): void;
  addEventListener(type: 'error', cb: (ev: Event) => void): void;
  terminate(): void;
}

export class FallbackWorker implements WorkerLike {
  onmessage: ((ev: MessageEvent<PixelResponse>) => void) | null = null;
  private worker: RealWorker | null = null;
  private inline: PixelHandler | null = null;
  /** Requests sent to the worker and not answered yet, to replay on the inline handler. */
  private readonly inFlight = new Map<number, PixelRequest>();

  constructor(
    make: () => RealWorker,
    private readonly onFallback: (reason: string) => void = () => undefined,
  ) {
    try {
      const w = make();
      w.addEventListener('message', (ev) => {
        this.inFlight.delete(ev.data.seq);
        this.onmessage?.(ev);
      });
      w.addEventListener('error', () => this.goInline('the pixel worker failed to start or crashed'));
      this.worker = w;
    } catch (e) {
      this.goInline(e instanceof Error ? e.message : String(e));
    }
  }

  /** True once pixel work runs on the UI thread. */
  get isInline(): boolean {
    return this.inline !== null;
  }

  postMessage(msg: PixelRequest): void {
    if (this.inline) return this.runInline(msg);
    this.inFlight.set(msg.seq, msg);
    this.worker!.postMessage(msg);
  }

  terminate(): void {
    this.worker?.terminate();
    this.worker = null;
  }

  private goInline(reason: string): void {
    if (this.inline) return;
    this.inline = new PixelHandler();
    this.worker?.terminate();
    this.worker = null;
    this.onFallback(reason);
    const replay = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const msg of replay) this.runInline(msg);
  }

  private runInline(msg: PixelRequest): void {
    const handler = this.inline!;
    // Answer asynchronously, as a worker would: callers never see re-entrant replies.
    setTimeout(() => this.onmessage?.({ data: handler.handle(msg) } as MessageEvent<PixelResponse>), 0);
  }
}
