// "Only the latest request counts", per channel: the client stamps each request and accepts an answer
// only if no newer request was sent on the same channel since. DOM-free, tested in Node.

/** Tracks the newest sequence id per channel. */
export class LatestOnly {
  private next = 1;
  private readonly newest = new Map<string, number>();

  /** Returns a fresh sequence id and makes it the newest one for `channel`. */
  stamp(channel: string): number {
    const seq = this.next++;
    this.newest.set(channel, seq);
    return seq;
  }

  /** True when `seq` is still the newest request on `channel`. */
  isCurrent(channel: string, seq: number): boolean {
    return this.newest.get(channel) === seq;
  }

  /** Forgets a channel so any answer still in flight for it is dropped. */
  invalidate(channel: string): void {
    this.newest.set(channel, -1);
  }
}
