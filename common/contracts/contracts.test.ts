import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  AppError,
  allServices,
  channelOf,
  createClient,
  createEventBus,
  createWebSocketTransport,
  defineService,
  method,
  methodTable,
  eventTable,
  makeMethodHandler,
  images,
  segmentation,
  type Transport,
  type WebSocketLike,
} from './index.js';

describe('channel names', () => {
  it('derives a unique app:<service>.<member> channel for every method and event', () => {
    const channels = [...methodTable().map((m) => m.channel), ...eventTable().map((e) => e.channel)];
    expect(new Set(channels).size).toBe(channels.length);
    for (const c of channels) expect(c).toMatch(/^app:[a-z][A-Za-z]*\.[a-z][A-Za-z0-9]*$/);
    expect(channels).toContain('app:images.list');
    expect(channels).toContain('app:jobs.progress');
    expect(allServices().map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'projects',
        'images',
        'segmentation',
        'annotations',
        'categories',
        'models',
        'jobs',
        'export',
      ]),
    );
  });

  it('refuses a service whose method and event share a name', () => {
    expect(() =>
      defineService('bad', {
        methods: { changed: method({ doc: '', args: z.object({}), result: z.null() }) },
        events: { changed: z.null() },
      }),
    ).toThrow(/both a method and an event/);
  });
});

describe('argument schemas', () => {
  it('rejects unknown fields, wrong types and empty prompts', () => {
    expect(images.methods.get.args.safeParse({ imageId: 1, extra: true }).success).toBe(false);
    expect(images.methods.get.args.safeParse({ imageId: '1' }).success).toBe(false);
    expect(images.methods.list.args.safeParse({ status: 'new', bogus: 1 }).success).toBe(false);
    expect(segmentation.methods.segment.args.safeParse({ imageId: 1 }).success).toBe(false);
    const ok = segmentation.methods.segment.args.parse({ imageId: 1, points: [{ x: 3, y: 4, label: 1 }] });
    expect(ok.multimask).toBe(false);
  });

  it('applies list defaults', () => {
    expect(images.methods.list.args.parse({})).toEqual({ offset: 0, limit: 500 });
  });
});

function fakeTransport(answer: (channel: string, args: unknown) => unknown): Transport & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    invoke: async (channel, args) => {
      calls.push(channel);
      return answer(channel, args);
    },
    on: () => () => undefined,
  };
}

describe('client', () => {
  it('returns INVALID_ARGUMENT without calling the transport', async () => {
    const t = fakeTransport(() => ({ ok: true, value: null }));
    const api = createClient(t);
    // @ts-expect-error wrong type on purpose
    const r = await api.images.get({ imageId: 'x' });
    expect(r).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(t.calls).toEqual([]);
  });

  it('passes backend errors through and flags contract-breaking values as BAD_RESPONSE', async () => {
    const t = fakeTransport((channel) =>
      channel === 'app:projects.current'
        ? { ok: false, error: { code: 'NO_PROJECT', message: 'none' } }
        : { ok: true, value: { wrong: 1 } },
    );
    const api = createClient(t);
    expect(await api.projects.current()).toEqual({
      ok: false,
      error: { code: 'NO_PROJECT', message: 'none' },
    });
    expect(await api.categories.list()).toMatchObject({ ok: false, error: { code: 'BAD_RESPONSE' } });
  });

  it('turns a throwing transport into a TRANSPORT error', async () => {
    const api = createClient({
      invoke: () => Promise.reject(new Error('socket gone')),
      on: () => () => undefined,
    });
    expect(await api.jobs.list()).toMatchObject({
      ok: false,
      error: { code: 'TRANSPORT', message: /socket gone/ },
    });
  });
});

describe('makeMethodHandler', () => {
  const spec = images.methods.setStatus;
  const summary = {
    id: 1,
    relPath: 'a.jpg',
    fileName: 'a.jpg',
    width: 4,
    height: 3,
    status: 'done',
    annotationCount: 0,
    proposedCount: 0,
  };

  it('validates, calls and wraps the value', async () => {
    const fn = vi.fn(() => summary);
    const h = makeMethodHandler('app:images.setStatus', spec, fn);
    expect(await h({ imageId: 1, status: 'done' }, null)).toEqual({ ok: true, value: summary });
    expect(await h({ imageId: 1, status: 'finished' }, null)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(await h('not an object', null)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('maps AppError to its code, other throws to INTERNAL, and a bad value to INTERNAL', async () => {
    const sink = vi.fn();
    const notFound = makeMethodHandler('c', spec, () => {
      throw new AppError('NOT_FOUND', 'no image 1');
    });
    expect(await notFound({ imageId: 1, status: 'done' }, null)).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'no image 1' },
    });
    const bug = makeMethodHandler(
      'c',
      spec,
      () => {
        throw new TypeError('oops');
      },
      sink,
    );
    expect(await bug({ imageId: 1, status: 'done' }, null)).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL' },
    });
    const lying = makeMethodHandler('c', spec, () => ({ id: 'one' }), sink);
    expect(await lying({ imageId: 1, status: 'done' }, null)).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL' },
    });
    expect(sink).toHaveBeenCalledTimes(2);
  });
});

describe('event bus', () => {
  it('validates payloads on emit and delivers them by channel', () => {
    const bus = createEventBus();
    const seen: [string, unknown][] = [];
    const off = bus.subscribe((c, p) => seen.push([c, p]));
    bus.emit('segmentation', 'embeddingReady', { imageId: 3, ms: 12, cached: false });
    // @ts-expect-error wrong payload on purpose
    expect(() => bus.emit('segmentation', 'embeddingReady', { imageId: 'x' })).toThrow();
    off();
    bus.emit('images', 'changed', { imageIds: [] });
    expect(seen).toEqual([
      [channelOf('segmentation', 'embeddingReady'), { imageId: 3, ms: 12, cached: false }],
    ]);
  });
});

/** A WebSocketLike driven by the test: `server` receives what the client sent. */
function fakeSocket() {
  const handlers: Record<string, ((e: { data: unknown }) => void)[]> = {};
  const sent: unknown[] = [];
  const sock: WebSocketLike & { fire(type: string, data?: unknown): void; sent: unknown[] } = {
    readyState: 1,
    sent,
    send: (d: string) => sent.push(JSON.parse(d)),
    close: () => sock.fire('close'),
    addEventListener: (type: string, l: (e: { data: unknown }) => void) => {
      (handlers[type] ??= []).push(l);
    },
    fire: (type: string, data?: unknown) => {
      for (const l of handlers[type] ?? [])
        l({ data: data === undefined ? undefined : JSON.stringify(data) });
    },
  } as never;
  return sock;
}

describe('WebSocket transport', () => {
  it('authenticates first, queues calls until ready, matches results by id and delivers events', async () => {
    const sock = fakeSocket();
    const t = createWebSocketTransport({ url: 'ws://x/ws', token: 'T', connect: () => sock });
    const api = createClient(t);
    const events: unknown[] = [];
    api.jobs.onProgress((j) => events.push(j.id));
    const pending = api.categories.list();
    sock.fire('open');
    expect(sock.sent).toEqual([{ type: 'auth', token: 'T' }]);
    sock.fire('message', { type: 'ready' });
    await vi.waitFor(() => expect(sock.sent).toHaveLength(2));
    const call = sock.sent[1] as { id: number; channel: string };
    expect(call.channel).toBe('app:categories.list');
    sock.fire('message', { type: 'result', id: call.id, result: { ok: true, value: [] } });
    expect(await pending).toEqual({ ok: true, value: [] });
    const job = {
      id: 'j1',
      kind: 'autoAnnotate',
      state: 'running',
      done: 1,
      total: 2,
      message: '',
      error: null,
      startedAt: 1,
      finishedAt: null,
    };
    sock.fire('message', { type: 'event', channel: 'app:jobs.progress', payload: job });
    sock.fire('message', { type: 'event', channel: 'app:jobs.progress', payload: { id: 5 } });
    expect(events).toEqual(['j1']);
  });

  it('fails pending calls with TRANSPORT when the socket closes and rejects ready() on an early close', async () => {
    const sock = fakeSocket();
    const t = createWebSocketTransport({ url: 'ws://x/ws', token: 'bad', connect: () => sock });
    const ready = t.ready();
    sock.fire('open');
    sock.fire('close');
    await expect(ready).rejects.toThrow(/before it was ready/);

    const sock2 = fakeSocket();
    const t2 = createWebSocketTransport({ url: 'ws://x/ws', connect: () => sock2 });
    const api = createClient(t2);
    const p = api.jobs.list();
    sock2.fire('message', { type: 'ready' });
    await vi.waitFor(() => expect(sock2.sent).toHaveLength(1));
    sock2.fire('close');
    expect(await p).toMatchObject({ ok: false, error: { code: 'TRANSPORT' } });
  });
});
