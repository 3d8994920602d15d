import { describe, expect, it } from 'vitest';
import { encodeCompressed } from '../../../common/rle/index.js';
import { PixelClient } from './client.js';
import { FallbackWorker, type RealWorker } from './fallback.js';

const rle = encodeCompressed(new Uint8Array([1, 1, 0, 0]), 2, 2);

/** A worker that accepts messages and never answers, then fails on demand. */
class DeadWorker implements RealWorker {
  private errorCb: ((ev: Event) => void) | null = null;
  posted = 0;
  terminated = false;
  postMessage(): void {
    this.posted++;
  }
  addEventListener(type: 'message' | 'error', cb: never): void {
    if (type === 'error') this.errorCb = cb;
  }
  terminate(): void {
    this.terminated = true;
  }
  fail(): void {
    this.errorCb?.(new Event('error'));
  }
}

describe('pixel worker fallback', () => {
  it('replays requests in flight on the UI thread when the worker fails', async () => {
    const dead = new DeadWorker();
    const reasons: string[] = [];
    const fw = new FallbackWorker(
      () => dead,
      (r) => reasons.push(r),
    );
    const client = new PixelClient(fw);
    const answer = client.request({
      kind: 'render',
      channel: 'a',
      rle,
      color: '#ffffff',
      alpha: 1,
      style: 'solid',
    });
    expect(dead.posted).toBe(1);
    dead.fail();
    expect(await answer).toMatchObject({ kind: 'rendered', mask: { area: 2 } });
    expect(fw.isInline).toBe(true);
    expect(dead.terminated).toBe(true);
    expect(reasons).toHaveLength(1);
  });

  it('runs inline from the start when the worker cannot be constructed', async () => {
    const fw = new FallbackWorker(() => {
      throw new Error('module workers are not allowed here');
    });
    const client = new PixelClient(fw);
    const r = await client.request({
      kind: 'render',
      channel: 'a',
      rle,
      color: '#ffffff',
      alpha: 1,
      style: 'solid',
    });
    expect(r).toMatchObject({ kind: 'rendered' });
    expect(fw.isInline).toBe(true);
  });
});
