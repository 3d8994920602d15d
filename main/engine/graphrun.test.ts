// The CUDA-graph runtime (graphrun.ts, through ortx) against the plain path. On this CPU machine it runs
// the same sessions and device-resident hand-offs (`cudaGraphs: 'on'`) with ortx's emulated graph slots (one
// decoder session per prompt shape, slot copies and shape checks, nothing captured): preprocessing output
// fed to the encoder, the batched decoder's outputs fed to mask choice + post-processing, none of them via
// JS. The masks must be the plain path's; capture and replay are measured on the GPU host (docs/gpu.md).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { iou } from '../../common/rle/index.js';
import { generateMasks } from './amg/index.js';
import { hostFeeds, promptFeeds } from './feeds.js';
import { fixedDimensions, GraphRuntime } from './graphrun.js';
import { masksFromChanges, POST } from './graphs.js';
import { decodeForSam } from './image.js';
import { geometryFor } from './preprocess.js';
import { encodePrompt } from './prompt.js';
import { loadModelInfo } from './manifest.js';
import { chooseProvider, ortLibraryPath } from './providers.js';
import { fixtureModelDir, fixtureShapesDir, SamEngine, type Prompt } from './index.js';
import { loadOrtx, ortxUnavailableReason } from './ortx.js';
import { instanceMask, interiorPoint, loadGroundTruth, scenePaths, withEnv } from './testing.js';
import { upscaleOnHost } from './upscale.js';

const built = loadOrtx(ortLibraryPath() ?? '') !== null;
const required = process.env.MASKROOM_REQUIRE_ORTX === '1';
if (!built && !required) {
  console.warn(`graphrun tests skipped: ${ortxUnavailableReason() ?? 'ortx not built'} (npm run build:ortx)`);
}

/** An engine on the CPU with the graph runtime (emulated graph slots). */
const graphRuntimeEngine = () =>
  SamEngine.create({
    modelDir: fixtureModelDir(),
    provider: 'cpu',
    cacheDir: false,
    fastPath: 'on',
    cudaGraphs: 'on',
  });

let graphs: SamEngine;
let fast: SamEngine;
let plain: SamEngine;
beforeAll(async () => {
  if (!built && !required) return;
  const common = { modelDir: fixtureModelDir(), provider: 'cpu' as const, cacheDir: false as const };
  [graphs, fast, plain] = await Promise.all([
    SamEngine.create({ ...common, fastPath: 'on', cudaGraphs: 'on' }),
    SamEngine.create({ ...common, fastPath: 'on', cudaGraphs: 'off' }),
    SamEngine.create({ ...common, fastPath: 'off' }),
  ]);
});
afterAll(async () => {
  await Promise.all([graphs?.close(), fast?.close(), plain?.close()]);
});

async function clicks(scene: string): Promise<{ image: string; points: Prompt[] }> {
  const p = scenePaths(fixtureShapesDir(), scene);
  const gt = await loadGroundTruth(p.ids);
  const points = gt.instances.map((id): Prompt => {
    const { x, y } = interiorPoint(instanceMask(gt, id), gt.width, gt.height);
    return { points: [{ x, y, label: 1 }] };
  });
  return { image: p.image, points };
}

describe.runIf(built || required)('CUDA-graph runtime (ortx), on CPU', () => {
  it('is on when asked, says there is no graph on CPU, and is off on CPU with auto', async () => {
    expect(built).toBe(true);
    const info = graphs.describe().fastPath;
    expect(info.active).toBe(true);
    expect(info.cudaGraphs).toBe('no CUDA graph for CPU provider (graph slots emulated, nothing captured)');
    // Its encoder replaces the fused one (one copy of the weights on the device).
    expect(info.encoderPreprocess).toBeNull();
    // MASKROOM_ORTX_POST unset: the post-processing session.
    expect(info.postprocess).toBe('session');
    expect(fast.describe().fastPath.cudaGraphs).toBe('turned off (cudaGraphs: "off")');
    // 'auto' means CUDA only; this machine has none.
    const auto = await SamEngine.create({
      modelDir: fixtureModelDir(),
      provider: 'cpu',
      cacheDir: false,
      fastPath: 'on',
      cudaGraphs: 'auto',
    });
    try {
      expect(auto.describe().fastPath.cudaGraphs).toBe('CPU provider: CUDA graphs need CUDA');
    } finally {
      await auto.close();
    }
    expect(plain.describe().fastPath.cudaGraphs).toBe('turned off (fastPath: "off")');
  });

  it('embeds like the fused encoder: the same embedding key and size', async () => {
    const image = `${fixtureShapesDir()}/shapes_02.jpg`;
    const a = await graphs.embed(image);
    const b = await fast.embed(image);
    expect(a.key).toBe(b.key);
    expect([a.width, a.height]).toEqual([b.width, b.height]);
  });

  it('gives the plain path’s click masks, mask choice and scores (mIoU ≥ 0.99)', async () => {
    const ious: number[] = [];
    for (const scene of ['shapes_00', 'shapes_04']) {
      const { image, points } = await clicks(scene);
      for (const prompt of points) {
        const a = await graphs.segment(image, prompt);
        const b = await plain.segment(image, prompt);
        expect(a.maskIndex).toBe(b.maskIndex);
        expect(a.score).toBeCloseTo(b.score, 3);
        ious.push(iou(a.rle, b.rle));
      }
    }
    expect(ious.length).toBeGreaterThan(5);
    expect(ious.reduce((s, v) => s + v, 0) / ious.length).toBeGreaterThanOrEqual(0.99);
    expect(Math.min(...ious)).toBeGreaterThan(0.97);
  });

  it('times its decoder and its post-processing session apart; the one-session fast path has no post share', async () => {
    const { image, points } = await clicks('shapes_00');
    const a = await graphs.segment(image, points[0]!);
    const b = await fast.segment(image, points[0]!);
    expect(a.timings.decoder).toBeGreaterThan(0);
    expect(a.timings.postprocess).toBeGreaterThan(0);
    expect(b.timings.decoder).toBeGreaterThan(0);
    expect(b.timings.postprocess).toBe(0);
    const many = await graphs.segmentMany(a.key, points.slice(0, 3), { pointsPerBatch: 3 });
    expect(many.timings.decoder).toBeGreaterThan(0);
    expect(many.timings.postprocess).toBeGreaterThan(0);
  });

  it('an embedding evicted from the device (4 kept) is fed from the host: same masks either way', async () => {
    const first = await clicks('shapes_01');
    const a = await graphs.embed(first.image);
    const prompt = first.points[0]!;
    const resident = await graphs.segment({ key: a.key }, prompt);
    for (const scene of ['shapes_03', 'shapes_05', 'shapes_06', 'shapes_07']) {
      await graphs.embed(`${fixtureShapesDir()}/${scene}.jpg`);
    }
    const fromHost = await graphs.segment({ key: a.key }, prompt);
    const reference = await plain.segment(first.image, prompt);
    expect(iou(resident.rle, fromHost.rle)).toBeGreaterThan(0.999);
    expect(fromHost.maskIndex).toBe(resident.maskIndex);
    expect(iou(fromHost.rle, reference.rle)).toBeGreaterThan(0.97);
  });

  it('segmentMany: batches of different sizes (one decoder shape each) give the fast path’s masks', async () => {
    const { image, points } = await clicks('shapes_02');
    const a = await graphs.embed(image);
    const b = await fast.embed(image);
    for (const pointsPerBatch of [1, 3, points.length]) {
      const x = await graphs.segmentMany(a.key, points, { pointsPerBatch });
      const y = await fast.segmentMany(b.key, points, { pointsPerBatch });
      expect(x.masks).toHaveLength(points.length);
      x.masks.forEach((m, i) => {
        expect(m.maskIndex).toBe(y.masks[i]!.maskIndex);
        expect(iou(m.rle, y.masks[i]!.rle)).toBeGreaterThan(0.999);
      });
    }
  });
});

describe.runIf(built || required)('CUDA-graph runtime: the host copy comes after embed()', () => {
  it('is what the disk cache keeps: a new engine reads it back and gives the same masks', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'maskroom-graphrun-'));
    const cacheDir = path.join(tmp, 'cache');
    const files = (): string[] =>
      readdirSync(cacheDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.emb'));
    const common = {
      modelDir: fixtureModelDir(),
      provider: 'cpu' as const,
      cacheDir,
      fastPath: 'on' as const,
    };
    const { image, points } = await clicks('shapes_05');
    const first = await SamEngine.create({ ...common, cudaGraphs: 'on' });
    let a;
    try {
      const e = await first.embed(image);
      expect(e.cached).toBe(false);
      // The click runs on the device copy; the host copy lands in the caches when its download ends.
      a = await first.segment({ key: e.key }, points[0]!);
      await vi.waitFor(() => expect(files()).toHaveLength(1), { timeout: 10_000 });
    } finally {
      await first.close();
    }
    const second = await SamEngine.create({ ...common, cudaGraphs: 'off' });
    try {
      const e = await second.embed(image);
      expect(e.cached).toBe('disk');
      const b = await second.segment({ key: e.key }, points[0]!);
      expect(iou(a.rle, b.rle)).toBeGreaterThan(0.99);
    } finally {
      await second.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe.runIf(built || required)('CUDA-graph runtime: AMG on the resident embedding', () => {
  // Small grids: these run on the CPU. The reference is the fast path without the runtime, whose AMG decoder
  // runs the same model on onnxruntime-node (its agreement with the plain generator: fastpath.test.ts).
  const options = { pointsPerSide: 6, predIouThresh: 0.7, stabilityScoreThresh: 0.75 };

  function expectSameMasks(
    a: Awaited<ReturnType<typeof generateMasks>>,
    b: Awaited<ReturnType<typeof generateMasks>>,
  ): void {
    expect(a.masks.length).toBeGreaterThan(0);
    expect(a.masks.length).toBe(b.masks.length);
    for (const m of a.masks) {
      const best = Math.max(...b.masks.map((o) => iou(m.segmentation, o.segmentation)));
      expect(best).toBeGreaterThanOrEqual(0.99);
    }
    expect(a.stats.candidates).toBe(b.stats.candidates);
  }

  it('runs the AMG decoder beside the graph runtime’s encoder, not on onnxruntime-node', () => {
    expect(graphs.describe().fastPath.amgResident).toBe(true);
    expect(graphs.describe().fastPath.amgResidentReason).toBeNull();
    expect(fast.describe().fastPath.amgResident).toBe(false);
    expect(fast.describe().fastPath.amgResidentReason).toBe('turned off (cudaGraphs: "off")');
    expect(plain.describe().fastPath.amgResident).toBe(false);
  });

  it('says why when ortx cannot open the AMG decoder', async () => {
    const info = loadModelInfo(fixtureModelDir());
    const { runtime } = await GraphRuntime.create(
      info.manifest,
      {
        encoderPath: info.encoderPath,
        encoderInput: 'image',
        batchedPath: info.decoderBatchedPath!,
      },
      await chooseProvider('cpu'),
      'on',
    );
    try {
      expect(runtime).not.toBeNull();
      const reason = await runtime!.attachAmg(new TextEncoder().encode('not an onnx model'));
      // onnxruntime's own words follow, so the user learns what failed, not only that it did.
      expect(reason).toMatch(/^ortx could not open the AMG decoder: .{10,}/);
      expect(runtime!.hasAmg).toBe(false);
    } finally {
      runtime?.release();
    }
  });

  it('refuses an unknown MASKROOM_ORTX_DOWNLOAD with a reason, not a throw', async () => {
    const info = loadModelInfo(fixtureModelDir());
    const { runtime, reason } = await withEnv({ MASKROOM_ORTX_DOWNLOAD: 'pinned' }, async () =>
      GraphRuntime.create(
        info.manifest,
        { encoderPath: info.encoderPath, encoderInput: 'image', batchedPath: info.decoderBatchedPath! },
        await chooseProvider('cpu'),
        'on',
      ),
    );
    expect(runtime).toBeNull();
    expect(reason).toBe(
      'ortx sessions failed: MASKROOM_ORTX_DOWNLOAD must be staged or pageable, not pinned',
    );
  });

  it('finds onnxruntime-node’s masks, with the embedding on the device and after it left it', async () => {
    const image = `${fixtureShapesDir()}/shapes_06.jpg`;
    const reference = await generateMasks(fast, image, options);
    // Just embedded: the decoder reads the embedding the encoder left on the device.
    const resident = await generateMasks(graphs, image, options);
    expectSameMasks(resident, reference);
    // Four other images push it off the device (the memory cache still has it): fed from the host copy.
    for (const scene of ['shapes_00', 'shapes_01', 'shapes_03', 'shapes_05']) {
      await graphs.embed(`${fixtureShapesDir()}/${scene}.jpg`);
    }
    const fromHost = await generateMasks(graphs, image, options);
    expectSameMasks(fromHost, resident);
  });

  it('crop layers: each crop is embedded and decoded like a whole image', async () => {
    const image = `${fixtureShapesDir()}/shapes_04.jpg`;
    const o = { ...options, pointsPerSide: 4, cropNLayers: 1 };
    expectSameMasks(await generateMasks(graphs, image, o), await generateMasks(fast, image, o));
  });
});

describe.runIf(built || required)('CUDA-graph runtime: describe() follows the prompt shapes seen', () => {
  it('names the shapes that run without a graph once calls of them come in, not before', async () => {
    const engine = await graphRuntimeEngine();
    try {
      const cpu = 'no CUDA graph for CPU provider (graph slots emulated, nothing captured)';
      expect(engine.describe().fastPath.cudaGraphs).toBe(cpu);
      const { image, points } = await clicks('shapes_02');
      const e = await engine.embed(image);
      // One prompt per call: the click's shape, made at load.
      await engine.segmentMany(e.key, points.slice(0, 2), { pointsPerBatch: 1 });
      expect(engine.describe().fastPath.cudaGraphs).toBe(cpu);
      // Several prompts with the fixture's one shared mask plane: its decoder names the mask planes' batch
      // like the prompts' (the official export), so no fixed-shape session fits.
      const many = await engine.segmentMany(e.key, points, { pointsPerBatch: points.length });
      expect(many.masks).toHaveLength(points.length);
      expect(engine.describe().fastPath.cudaGraphs).toBe(
        `${cpu}; batched decoder: prompts with one shared mask plane, where the model names both batches alike`,
      );
      // Past 6 shapes: clicks with 1..8 points (+ SAM's padding point) are 8 shapes of one prompt each.
      for (let n = 1; n <= 8; n++) {
        const pts = Array.from({ length: n }, (_, i) => ({ x: 40 + 10 * i, y: 60, label: 1 as const }));
        await engine.segment({ key: e.key }, { points: pts });
      }
      expect(engine.describe().fastPath.cudaGraphs).toMatch(
        /batched decoder: prompt shapes past the first 6 \(prompts, points, mask planes\)$/,
      );
    } finally {
      await engine.close();
    }
  });
});

describe('fixedDimensions', () => {
  const inputs = [
    { name: 'image_embeddings', type: 'float32', shape: [1, 256, 64, 64] },
    { name: 'point_coords', type: 'float32', shape: ['B', 'N', 2] },
    { name: 'mask_input', type: 'float32', shape: ['BM', 1, 256, 256] },
  ];
  it('fixes each symbolic dimension to the feeds’ size, and refuses a name with two sizes', () => {
    expect(fixedDimensions(inputs, { point_coords: [32, 2, 2], mask_input: [1, 1, 256, 256] })).toEqual({
      B: 32,
      N: 2,
      BM: 1,
    });
    const shared = inputs.map((i) => (i.name === 'mask_input' ? { ...i, shape: ['B', 1, 256, 256] } : i));
    expect(fixedDimensions(shared, { point_coords: [32, 2, 2], mask_input: [1, 1, 256, 256] })).toBeNull();
  });
});

describe.runIf(built || required)('CUDA-graph runtime: post-processing per image size', () => {
  const info = () => loadModelInfo(fixtureModelDir());
  const sources = () => {
    const i = info();
    return { encoderPath: i.encoderPath, encoderInput: 'image', batchedPath: i.decoderBatchedPath! };
  };
  const keyOf = (prompts: number, w: number, h: number) => {
    const g = geometryFor(w, h, 1024);
    return `${prompts}|${[g.resizedHeight, g.resizedWidth, h, w].join('x')}`;
  };
  async function runtime(post: string | undefined) {
    // Unset (''): the default.
    return withEnv({ MASKROOM_ORTX_POST: post ?? '' }, async () =>
      GraphRuntime.create(info().manifest, sources(), await chooseProvider('cpu'), 'on'),
    );
  }

  /** The default runtime and one with MASKROOM_ORTX_POST=post, `scene` encoded under 'k' on both; its clicks. */
  async function encodedOn(post: string, scene: string) {
    const rts: GraphRuntime[] = [];
    try {
      for (const p of [undefined, post]) rts.push((await runtime(p)).runtime!);
      const { image, points } = await clicks(scene);
      const img = await decodeForSam(readFileSync(image), 1024, { deferUpscale: true });
      for (const rt of rts) await rt.encode(img.rgb, img.rgbWidth, img.rgbHeight, img.geometry, 'k');
      return { rts: rts as [GraphRuntime, GraphRuntime], img, points };
    } catch (err) {
      for (const rt of rts) rt.release();
      throw err;
    }
  }
  const noHost = () => Promise.reject(new Error('the embedding is resident'));

  it('MASKROOM_ORTX_POST=graph gives the plain session’s outputs exactly, through each size’s graph once built', async () => {
    const {
      rts: [plain, graph],
      img,
      points,
    } = await encodedOn('graph', 'shapes_03');
    try {
      const call = (rt: GraphRuntime, w: number, h: number, withLowRes: boolean, n = 1) => {
        const g = geometryFor(w, h, 1024);
        const prompts = points.slice(0, n).map((p) => encodePrompt(p, img.geometry));
        return rt.masks(
          'k',
          noHost,
          hostFeeds(promptFeeds(prompts, false)),
          prompts.map((_, i) => i % 2 === 0),
          [g.resizedHeight, g.resizedWidth, g.height, g.width],
          0,
          withLowRes,
        );
      };
      const same = async (w: number, h: number, withLowRes: boolean, n = 1) => {
        const want = (await call(plain, w, h, withLowRes, n)).outputs;
        const got = (await call(graph, w, h, withLowRes, n)).outputs;
        expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
        for (const k of Object.keys(want)) {
          expect(got[k]!.dims, k).toEqual(want[k]!.dims);
          expect(got[k]!.data, k).toEqual(want[k]!.data);
        }
        expect((want[POST.changes]!.data as Int32Array).length).toBeGreaterThan(0);
      };
      const { width: W, height: H } = img.geometry;
      // First call of a size: the plain session serves it while the size's graph session is built.
      await same(W, H, false);
      expect(plain.postGraphState()).toEqual([]);
      expect(graph.postprocess).toBe('graphs');
      await vi.waitFor(() => expect(graph.postGraphState()[0]?.ready).toBe(true));
      // Then its graph: captured on the first call, replayed after; with the chosen plane, a graph of its own.
      for (let i = 0; i < 3; i++) await same(W, H, false);
      await same(W, H, true);
      await same(W, H, true);
      expect(graph.postGraphState()).toEqual([{ key: keyOf(1, W, H), ready: true, replays: 3 }]);
      // Three prompts at another size: a key of its own.
      await same(333, 517, false, 3);
      await vi.waitFor(() => expect(graph.postGraphState().every((g) => g.ready)).toBe(true));
      await same(333, 517, false, 3);
      // Past four sizes the least recently used one goes.
      for (const w of [100, 101, 102]) {
        await same(w, 80, false);
        await vi.waitFor(() => expect(graph.postGraphState().every((g) => g.ready)).toBe(true));
      }
      expect(graph.postGraphState().map((g) => g.key)).toEqual([
        keyOf(3, 333, 517),
        keyOf(1, 100, 80),
        keyOf(1, 101, 80),
        keyOf(1, 102, 80),
      ]);
      expect(graph.reason).toBe('no CUDA graph for CPU provider (graph slots emulated, nothing captured)');
    } finally {
      plain.release();
      graph.release();
    }
  });

  it('MASKROOM_ORTX_POST=host: the session’s mask choice and planes, and the host upscaling of those planes', async () => {
    const {
      rts: [plain, host],
      img,
      points,
    } = await encodedOn('host', 'shapes_05');
    try {
      const g = img.geometry;
      const sizes: [number, number, number, number] = [g.resizedHeight, g.resizedWidth, g.height, g.width];
      for (const n of [1, 5]) {
        const prompts = points.slice(0, n).map((p) => encodePrompt(p, g));
        const multimask = prompts.map((_, i) => i % 2 === 0);
        const call = (rt: GraphRuntime) =>
          rt.masks('k', noHost, hostFeeds(promptFeeds(prompts, false)), multimask, sizes, 0, true);
        const want = await call(plain);
        const got = await call(host);
        expect(want.masks).toBeUndefined();
        for (const k of [POST.index, POST.score, POST.chosen]) {
          expect(got.outputs[k]!.dims, k).toEqual(want.outputs[k]!.dims);
          expect(got.outputs[k]!.data, k).toEqual(want.outputs[k]!.data);
        }
        // The host's masks are its upscaling of the chosen planes, bit for bit...
        const chosen = got.outputs[POST.chosen]!.data as Float32Array;
        const index = Int32Array.from({ length: n }, (_, i) => i);
        expect(got.masks).toEqual(
          await withEnv({ MASKROOM_UPSCALE: 'js' }, () => upscaleOnHost(chosen, index, g, 0)),
        );
        // ...and agree with the post-processing session's (onnxruntime's Resize rounds its own way).
        const session = masksFromChanges(
          want.outputs[POST.first]!.data as Uint8Array,
          want.outputs[POST.runs]!.data as Int32Array,
          want.outputs[POST.changes]!.data as Int32Array,
          g.height,
          g.width,
        );
        got.masks!.forEach((m, i) => {
          expect(m.area).toBeGreaterThan(0);
          expect(iou(m.rle, session[i]!.rle)).toBeGreaterThan(0.99);
        });
      }
      expect(host.postGraphState()).toEqual([]);
      expect([plain.postprocess, host.postprocess]).toEqual(['session', 'host']);
    } finally {
      plain.release();
      host.release();
    }
  });

  it('an engine with MASKROOM_ORTX_POST=host: clicks and batches as the plain path, each mask its own plane’s upscaling', async () => {
    const engine = await withEnv({ MASKROOM_ORTX_POST: 'host' }, () => graphRuntimeEngine());
    try {
      expect(engine.describe().upscale).toEqual({ via: 'native', threads: expect.any(Number), reason: null });
      expect(engine.describe().fastPath.postprocess).toBe('host');
      const { image, points } = await clicks('shapes_06');
      const ious: number[] = [];
      for (const prompt of points) {
        const a = await engine.segment(image, prompt);
        const b = await plain.segment(image, prompt);
        expect(a.maskIndex).toBe(b.maskIndex);
        expect(a.timings.postprocess).toBeGreaterThan(0);
        ious.push(iou(a.rle, b.rle));
        const g = geometryFor(a.width, a.height, 1024);
        const [own] = await upscaleOnHost(a.lowRes, Int32Array.of(0), g, 0);
        expect({ rle: a.rle, area: a.area, bbox: a.bbox }).toEqual(own);
      }
      expect(ious.reduce((x, v) => x + v, 0) / ious.length).toBeGreaterThanOrEqual(0.99);
      const key = (await engine.embed(image)).key;
      const many = await engine.segmentMany(key, points, { pointsPerBatch: 4 });
      const one = await Promise.all(points.map((p) => engine.segment({ key }, p)));
      many.masks.forEach((m, i) => {
        expect(m.maskIndex).toBe(one[i]!.maskIndex);
        expect(iou(m.rle, one[i]!.rle)).toBeGreaterThan(0.99);
      });
    } finally {
      await engine.close();
    }
  });

  it('refuses an unknown MASKROOM_ORTX_POST with a reason, not a throw', async () => {
    const { runtime: rt, reason } = await runtime('always');
    expect(rt).toBeNull();
    expect(reason).toBe('ortx sessions failed: MASKROOM_ORTX_POST must be graph, plain or host, not always');
  });
});
