// PostGraphs' bookkeeping with stand-in sessions: when a size's session is built, kept, evicted, given up on.
// That its outputs equal the plain post-processing session's is graphrun.test.ts's job, on real sessions.
import { describe, expect, it, vi } from 'vitest';
import { POST } from './graphs.js';
import type { DeviceTensor, HostTensor, OrtxSession } from './ortx.js';
import { postGraphFits, PostGraphs } from './postgraphs.js';

const host = (v: number): HostTensor => ({ type: 'int32', dims: [1], data: Int32Array.of(v) });

function device(dims: number[]): DeviceTensor & { releases: number } {
  const t = {
    type: 'float32' as const,
    dims,
    device: 'cuda' as const,
    released: false,
    releases: 0,
    download: () => Promise.reject(new Error('not downloaded in these tests')),
    release() {
      t.releases++;
    },
  };
  return t;
}

/** A stand-in session: `run` answers every fetch (or throws `fail`), counting calls and releases. */
function session(opts: { fail?: string } = {}) {
  const s = {
    runs: 0,
    releases: 0,
    flips: [] as ReturnType<typeof device>[],
    inputs: [],
    outputs: [],
    run(_feeds: unknown, fetches: { name: string; device?: boolean }[]) {
      s.runs++;
      if (opts.fail) return Promise.reject(new Error(opts.fail));
      const out: Record<string, HostTensor | DeviceTensor> = {};
      for (const f of fetches) {
        if (f.device) {
          const t = device([1, 4]);
          s.flips.push(t);
          out[f.name] = t;
        } else out[f.name] = host(s.runs);
      }
      return Promise.resolve(out);
    },
    graphSlots: () => [{ graphId: 0, replays: Math.max(0, s.runs - 1) }],
    release() {
      s.releases++;
    },
  };
  return s;
}

const asSession = (s: ReturnType<typeof session>) => s as unknown as OrtxSession;
const feeds = (prompts = 1) => ({ low_res_masks: device([prompts, 4, 256, 256]) });
const SIZE: [number, number, number, number] = [576, 1024, 540, 960];
const NAMES = [POST.index, POST.runs];

function setup(built: (n: number) => ReturnType<typeof session> | Error = () => session()) {
  const made: ReturnType<typeof session>[] = [];
  const open = vi.fn((_model: Uint8Array, _dims: Record<string, number>) => {
    const s = built(open.mock.calls.length);
    if (s instanceof Error) return Promise.reject(s);
    made.push(s);
    return Promise.resolve(asSession(s));
  });
  const changes = session();
  const pg = new PostGraphs(open, 1024, asSession(changes));
  return { pg, open, made, changes };
}

describe('PostGraphs', () => {
  it('builds a size’s session off the first call, then serves it from the next, NonZero after', async () => {
    const { pg, open, made, changes } = setup();
    expect(await pg.run(feeds(), SIZE, NAMES, false)).toBeNull();
    expect(open).toHaveBeenCalledTimes(1);
    expect(open.mock.calls[0]![1]).toEqual({ B: 1 });
    await vi.waitFor(() => expect(pg.state()[0]?.ready).toBe(true));
    const out = await pg.run(feeds(), SIZE, NAMES, false);
    expect(Object.keys(out!).sort()).toEqual([POST.changes, POST.index, POST.runs].sort());
    expect(changes.runs).toBe(1);
    // The flags crossed to NonZero on the device and were let go after.
    expect(made[0]!.flips).toHaveLength(1);
    expect(made[0]!.flips[0]!.releases).toBe(1);
    await pg.run(feeds(), SIZE, NAMES, true);
    expect(pg.state()).toEqual([{ key: '1|576x1024x540x960', ready: true, replays: 1 }]);
    expect(open).toHaveBeenCalledTimes(1);
    expect(pg.reasons.size).toBe(0);
  });

  it('keeps the four most recently used sizes and releases the one that goes', async () => {
    const { pg, made } = setup();
    const size = (w: number): [number, number, number, number] => [576, 1024, 540, w];
    for (const w of [100, 101, 102, 103]) await pg.run(feeds(), size(w), NAMES, false);
    await vi.waitFor(() => expect(pg.state().every((s) => s.ready)).toBe(true));
    await pg.run(feeds(), size(100), NAMES, false); // 100 becomes the most recent
    await pg.run(feeds(), size(104), NAMES, false); // 101 goes
    expect(pg.state().map((s) => s.key.split('x')[3])).toEqual(['102', '103', '100', '104']);
    expect(made[1]!.releases).toBe(1);
    expect(made.filter((s) => s.releases > 0)).toHaveLength(1);
  });

  it('a graph that fails leaves its size to the plain session, with the reason', async () => {
    const { pg, made } = setup(() => session({ fail: 'onnxruntime: capture refused\nmore detail' }));
    await pg.run(feeds(), SIZE, NAMES, false);
    await vi.waitFor(() => expect(pg.state()[0]?.ready).toBe(true));
    expect(await pg.run(feeds(), SIZE, NAMES, false)).toBeNull();
    expect(made[0]!.releases).toBe(1);
    expect([...pg.reasons]).toEqual([
      'post-processing of 1 prompt(s) at 960×540: onnxruntime: capture refused',
    ]);
    // Not retried, not rebuilt.
    expect(await pg.run(feeds(), SIZE, NAMES, false)).toBeNull();
    expect(made[0]!.runs).toBe(1);
    expect(made).toHaveLength(1);
  });

  it('a session that cannot be made, or a size past the memory cap, keeps the plain session', async () => {
    const { pg, open } = setup(() => new Error('onnxruntime: a node is not on the GPU'));
    await pg.run(feeds(), SIZE, NAMES, false);
    await vi.waitFor(() => expect(pg.reasons.size).toBe(1));
    expect([...pg.reasons]).toEqual(['post-processing: onnxruntime: a node is not on the GPU']);
    expect(await pg.run(feeds(), SIZE, NAMES, false)).toBeNull();
    expect(open).toHaveBeenCalledTimes(1);
    expect(await pg.run(feeds(64), SIZE, NAMES, false)).toBeNull();
    expect(open).toHaveBeenCalledTimes(1);
    expect([...pg.reasons][1]).toBe('post-processing past 256 MB of upscaling (prompts × image size)');
  });

  it('a session finished after release() is released too, and so is NonZero’s', async () => {
    let resolve!: () => void;
    const gate = new Promise<void>((r) => (resolve = r));
    const s = session();
    const changes = session();
    const pg = new PostGraphs(
      async () => {
        await gate;
        return asSession(s);
      },
      1024,
      asSession(changes),
    );
    await pg.run(feeds(), SIZE, NAMES, false);
    pg.release();
    expect(changes.releases).toBe(1);
    resolve();
    await vi.waitFor(() => expect(s.releases).toBe(1));
  });

  it('caps by upscaling memory: prompts × (S² + h·w) floats ≤ 256 MB', () => {
    expect(postGraphFits(1, 1024, 540, 960)).toBe(true);
    expect(postGraphFits(32, 1024, 540, 960)).toBe(true);
    expect(postGraphFits(64, 1024, 540, 960)).toBe(false);
    expect(postGraphFits(1, 1024, 8000, 8000)).toBe(true);
    expect(postGraphFits(1, 1024, 9000, 9000)).toBe(false);
  });
});
