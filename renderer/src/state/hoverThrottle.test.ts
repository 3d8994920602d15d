import { describe, expect, it } from 'vitest';
import { LatestThrottle } from './hoverThrottle.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('hover throttle', () => {
  it('keeps one request in flight and sends only the newest waiting position next', async () => {
    const sent: number[] = [];
    const gates: ReturnType<typeof deferred>[] = [];
    const t = new LatestThrottle<number>((n) => {
      sent.push(n);
      const d = deferred();
      gates.push(d);
      return d.promise;
    });
    t.submit(1);
    t.submit(2);
    t.submit(3);
    t.submit(4);
    expect(sent).toEqual([1]);
    gates[0]!.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual([1, 4]);
    gates[1]!.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual([1, 4]);
  });

  it('forgets the waiting position on clear and keeps going after a failed send', async () => {
    const sent: number[] = [];
    let fail = true;
    const t = new LatestThrottle<number>(async (n) => {
      sent.push(n);
      if (fail) {
        fail = false;
        throw new Error('engine busy');
      }
    });
    t.submit(1);
    t.submit(2);
    t.clear();
    await new Promise((r) => setTimeout(r, 0));
    t.submit(3);
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual([1, 3]);
  });
});
