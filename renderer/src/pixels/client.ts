// UI-thread side of the pixel worker: promise per request, stale answers resolved as `null`.
import { LatestOnly } from './latest.js';
import type { PixelRequest, PixelResponse } from './protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type PixelCall = DistributiveOmit<PixelRequest, 'seq'>;

/** Something that behaves like a Worker (a real one in the browser, an in-process one in tests). */
export interface WorkerLike {
  postMessage(msg: PixelRequest): void;
  onmessage: ((ev: MessageEvent<PixelResponse>) => void) | null;
  terminate(): void;
}

/** Sends pixel requests to a worker; answers superseded on their channel resolve to null. */
export class PixelClient {
  private readonly latest = new LatestOnly();
  private readonly pending = new Map<
    number,
    { resolve: (r: PixelResponse | null) => void; channel: string }
  >();

  constructor(private readonly worker: WorkerLike) {
    worker.onmessage = (ev) => this.receive(ev.data);
  }

  private receive(res: PixelResponse): void {
    const p = this.pending.get(res.seq);
    if (!p) return;
    this.pending.delete(res.seq);
    // Commits and discards must always land: they end a brush stroke. Renders can be superseded.
    const mustLand = res.kind === 'committed' || res.kind === 'discarded';
    p.resolve(mustLand || this.latest.isCurrent(p.channel, res.seq) ? res : null);
  }

  /** Sends a request; resolves with the answer, or null when a newer request on its channel overtook it. */
  request(call: PixelCall): Promise<PixelResponse | null> {
    const seq = this.latest.stamp(call.channel);
    return new Promise((resolve) => {
      this.pending.set(seq, { resolve, channel: call.channel });
      this.worker.postMessage({ ...call, seq } as PixelRequest);
    });
  }

  /** Drops whatever is in flight on a channel (e.g. a mask that was removed). */
  invalidate(channel: string): void {
    this.latest.invalidate(channel);
  }

  /** Stops the worker; pending requests resolve to null. */
  dispose(): void {
    for (const p of this.pending.values()) p.resolve(null);
    this.pending.clear();
    this.worker.terminate();
  }
}
