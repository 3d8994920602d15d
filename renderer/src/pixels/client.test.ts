import { describe, expect, it } from 'vitest';
import { encodeCompressed } from '../../../common/rle/index.js';
import { PixelClient, type WorkerLike } from './client.js';
import { PixelHandler } from './handler.js';
import type { PixelRequest, PixelResponse } from './protocol.js';

/** An in-process worker that answers when told to, so tests control the order of answers. */
class ManualWorker implements WorkerLike {
  onmessage: ((ev: MessageEvent<PixelResponse>) => void) | null = null;
  readonly inbox: PixelRequest[] = [];
  private readonly handler = new PixelHandler();
  terminated = false;
  postMessage(msg: PixelRequest): void {
    this.inbox.push(msg);
  }
  /** Answers the queued request at `index`. */
  answer(index: number): void {
    const [req] = this.inbox.splice(index, 1);
    this.onmessage?.({ data: this.handler.handle(req!) } as MessageEvent<PixelResponse>);
  }
  terminate(): void {
    this.terminated = true;
  }
}

const rle = encodeCompressed(new Uint8Array([0, 1, 1, 0]), 2, 2);

describe('pixel client', () => {
  it('drops an answer overtaken by a newer request on the same channel', async () => {
    const w = new ManualWorker();
    const c = new PixelClient(w);
    const first = c.request({
      kind: 'render',
      channel: 'candidate',
      rle,
      color: '#ffffff',
      alpha: 1,
      style: 'solid',
    });
    const second = c.request({
      kind: 'render',
      channel: 'candidate',
      rle,
      color: '#000000',
      alpha: 1,
      style: 'solid',
    });
    w.answer(1);
    w.answer(0);
    expect(await second).toMatchObject({ kind: 'rendered' });
    expect(await first).toBeNull();
  });

  it('keeps channels independent', async () => {
    const w = new ManualWorker();
    const c = new PixelClient(w);
    const a = c.request({
      kind: 'render',
      channel: 'ann:1',
      rle,
      color: '#ffffff',
      alpha: 1,
      style: 'solid',
    });
    const b = c.request({
      kind: 'render',
      channel: 'ann:2',
      rle,
      color: '#ffffff',
      alpha: 1,
      style: 'solid',
    });
    w.answer(0);
    w.answer(0);
    expect(await a).not.toBeNull();
    expect(await b).not.toBeNull();
  });

  it('drops what is in flight on an invalidated channel and resolves pending requests on dispose', async () => {
    const w = new ManualWorker();
    const c = new PixelClient(w);
    const a = c.request({
      kind: 'render',
      channel: 'hover',
      rle,
      color: '#ffffff',
      alpha: 1,
      style: 'solid',
    });
    c.invalidate('hover');
    w.answer(0);
    expect(await a).toBeNull();
    const b = c.request({
      kind: 'render',
      channel: 'hover',
      rle,
      color: '#ffffff',
      alpha: 1,
      style: 'solid',
    });
    c.dispose();
    expect(await b).toBeNull();
    expect(w.terminated).toBe(true);
  });
});
