import { readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { stabilityScore } from '../../common/amg/stability.js';
import { rng } from '../../common/rle/testing.js';
import { area, compress, decode, encode, toBbox, type RleSummary } from '../../common/rle/index.js';
import {
  addAmgPrefilter,
  addMaskChoice,
  addPostprocess,
  AMG,
  changesModel,
  choiceFlipsModel,
  choicePostprocessModel,
  encoderWithPreprocess,
  GraphBuilder,
  masksFromChanges,
  POST,
  postprocessModel,
  PRE,
  preprocessModel,
} from './graphs.js';
import { fixtureModelDir } from './index.js';
import { readModelInfo } from './onnx-rewrite.js';
import { chooseMask, lowResToMask } from './postprocess.js';
import { geometryFor, normalizeToTensor, toInputFrame, type ImageGeometry } from './preprocess.js';

const PLANE = 256 * 256;
const batchedBytes = (): Uint8Array =>
  new Uint8Array(readFileSync(path.join(fixtureModelDir(), 'decoder_batched.onnx')));

// A smooth, structured embedding gives non-trivial masks without running the encoder.
function embedding(): ort.Tensor {
  const emb = new Float32Array(256 * 64 * 64);
  for (let c = 0; c < 256; c++)
    for (let i = 0; i < 4096; i++) emb[c * 4096 + i] = Math.sin(c * 0.37 + (i % 64) * 0.11 + (i >> 6) * 0.07);
  return new ort.Tensor('float32', emb, [1, 256, 64, 64]);
}

function promptFeeds(B: number, w: number, h: number): Record<string, ort.Tensor> {
  const g = geometryFor(w, h, 1024);
  const coords = new Float32Array(B * 4);
  const labels = new Float32Array(B * 2);
  for (let b = 0; b < B; b++) {
    const [x, y] = toInputFrame(g, (((b * 37) % 97) / 97) * w, (((b * 53) % 89) / 89) * h);
    coords.set([x, y, 0, 0], b * 4);
    labels.set([1, -1], b * 2);
  }
  return {
    image_embeddings: embedding(),
    point_coords: new ort.Tensor('float32', coords, [B, 2, 2]),
    point_labels: new ort.Tensor('float32', labels, [B, 2]),
    mask_input: new ort.Tensor('float32', new Float32Array(PLANE), [1, 1, 256, 256]),
    has_mask_input: new ort.Tensor('float32', Float32Array.of(0), [1]),
  };
}

describe('AMG prefilter appended to the batched decoder', () => {
  it('keeps exactly the candidates the JS filters keep, with their logits', async () => {
    const g = new GraphBuilder('t_');
    addAmgPrefilter(g, 'low_res_masks', 'iou_predictions');
    const s = await ort.InferenceSession.create(g.appendTo(batchedBytes()));
    const B = 24;
    const [w, h] = [900, 600];
    const geo = geometryFor(w, h, 1024);
    const region = { h: Math.ceil(geo.resizedHeight / 4), w: Math.ceil(geo.resizedWidth / 4), stride: 256 };
    const feeds = promptFeeds(B, w, h);
    const plain = await ort.InferenceSession.create(batchedBytes());
    const dense = await plain.run(feeds);
    await plain.release();
    const iou = dense.iou_predictions!.data as Float32Array;
    const low = dense.low_res_masks!.data as Float32Array;
    // Thresholds chosen from the data so that some, not all, candidates pass.
    const stabs: number[] = [];
    for (let b = 0; b < B; b++)
      for (let m = 1; m < 4; m++) stabs.push(stabilityScore(low, (b * 4 + m) * PLANE, region, 0, 1));
    const sortedIou = [...iou].sort((a, b) => a - b);
    const tIou = sortedIou[Math.floor(sortedIou.length / 3)]!;
    const tStab = [...stabs].sort((a, b) => a - b)[Math.floor(stabs.length / 3)]!;
    const want: [number, number][] = [];
    for (let b = 0; b < B; b++)
      for (let m = 1; m < 4; m++)
        if (iou[b * 4 + m]! > tIou && stabs[b * 3 + m - 1]! >= tStab) want.push([b, m]);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(B * 3);
    const out = await s.run(
      {
        ...feeds,
        [AMG.thresholds]: new ort.Tensor('float32', Float32Array.of(tIou, tStab - 1e-6, 0, 1), [4]),
        [AMG.region]: new ort.Tensor('int64', BigInt64Array.of(BigInt(region.h), BigInt(region.w)), [2]),
      },
      [AMG.index, AMG.iou, AMG.stability, AMG.lowRes],
    );
    const idx = out[AMG.index]!.data as Int32Array;
    const got: [number, number][] = [];
    for (let k = 0; k < idx.length / 2; k++) got.push([idx[2 * k]!, idx[2 * k + 1]!]);
    expect(got).toEqual(want);
    const keptLow = out[AMG.lowRes]!.data as Float32Array;
    got.forEach(([b, m], k) => {
      expect((out[AMG.iou]!.data as Float32Array)[k]).toBe(iou[b * 4 + m]);
      expect((out[AMG.stability]!.data as Float32Array)[k]).toBeCloseTo(stabs[b * 3 + m - 1]!, 6);
      let differ = 0;
      for (let i = 0; i < PLANE; i++) if (keptLow[k * PLANE + i] !== low[(b * 4 + m) * PLANE + i]) differ++;
      expect(differ).toBe(0);
    });
    await s.release();
  });
});

describe('mask choice + post-processing appended to the batched decoder', () => {
  it("picks SAM's mask per prompt and gives the JS upscaler's RLE", async () => {
    const g = new GraphBuilder('t_');
    addPostprocess(g, addMaskChoice(g, 'low_res_masks', 'iou_predictions'), 1024);
    const s = await ort.InferenceSession.create(g.appendTo(batchedBytes()));
    for (const [w, h] of [
      [900, 600],
      [333, 517],
      [1600, 1200],
    ] as const) {
      const geo = geometryFor(w, h, 1024);
      const B = 6;
      const mm = [true, false, true, true, false, true];
      const feeds = promptFeeds(B, w, h);
      const out = await s.run(
        {
          ...feeds,
          [POST.multimask]: new ort.Tensor('bool', Uint8Array.from(mm, Number), [B]),
          [POST.sizes]: new ort.Tensor(
            'int64',
            BigInt64Array.from([geo.resizedHeight, geo.resizedWidth, h, w], BigInt),
            [4],
          ),
          [POST.threshold]: new ort.Tensor('float32', Float32Array.of(0), [1]),
        },
        ['iou_predictions', 'low_res_masks', POST.index, POST.score, POST.first, POST.runs, POST.changes],
      );
      const iou = out.iou_predictions!.data as Float32Array;
      const low = out.low_res_masks!.data as Float32Array;
      const index = out[POST.index]!.data as Int32Array;
      expect(out[POST.runs]!.dims).toEqual([B]);
      expect(out[POST.changes]!.dims).toEqual([out[POST.changes]!.data.length]);
      const masks = fromOutputs(out, h, w);
      for (let b = 0; b < B; b++) {
        const m = chooseMask(iou, b * 4, 4, mm[b]!);
        expect(index[b]).toBe(m);
        expect((out[POST.score]!.data as Float32Array)[b]).toBe(iou[b * 4 + m]);
        const js = lowResToMask(low.subarray((b * 4 + m) * PLANE, (b * 4 + m + 1) * PLANE), geo);
        // decode() checks that the string's runs cover exactly h × w pixels.
        const gpu = decode(masks[b]!.rle);
        expectSummaryOf(masks[b]!, gpu, h, w);
        // Pixels whose logit is within float rounding of 0 may land either side: compare decoded masks.
        let diff = 0;
        for (let i = 0; i < w * h; i++) if (js[i] !== gpu[i]) diff++;
        expect(diff).toBeLessThanOrEqual(Math.max(5, (w * h) / 1e5));
      }
    }
    await s.release();
  });
});

describe('standalone post-processing', () => {
  const run = async (s: ort.InferenceSession, planes: Float32Array, geo: ImageGeometry) =>
    s.run({
      [POST.lowRes]: new ort.Tensor('float32', planes, [planes.length / PLANE, 256, 256]),
      [POST.sizes]: new ort.Tensor(
        'int64',
        BigInt64Array.from([geo.resizedHeight, geo.resizedWidth, geo.height, geo.width], BigInt),
        [4],
      ),
      [POST.threshold]: new ort.Tensor('float32', Float32Array.of(0), [1]),
    });

  it('turns planes into RLE, area and box (a square, an empty and a full mask)', async () => {
    const s = await ort.InferenceSession.create(postprocessModel(1024, 17));
    const planes = new Float32Array(3 * PLANE).fill(-4);
    for (let y = 40; y < 80; y++) for (let x = 100; x < 140; x++) planes[y * 256 + x] = 4;
    planes.fill(4, 2 * PLANE);
    const [w, h] = [1024, 1024];
    const geo = geometryFor(w, h, 1024);
    const out = await run(s, planes, geo);
    // The square covers 160 columns of 160 pixels: two changes in each.
    expect(Array.from(out[POST.runs]!.data as Int32Array)).toEqual([320, 0, 0]);
    const masks = fromOutputs(out, h, w);
    const square = encode(lowResToMask(planes.subarray(0, PLANE), geo), h, w);
    expect(masks[0]).toEqual({ rle: compress(square), area: area(square), bbox: toBbox(square) });
    expect(masks[0]!.bbox).toEqual([400, 160, 160, 160]);
    expect(masks[1]).toEqual({
      rle: compress({ size: [h, w], counts: [w * h] }),
      area: 0,
      bbox: [0, 0, 0, 0],
    });
    expect(masks[2]).toEqual({
      rle: compress({ size: [h, w], counts: [0, w * h] }),
      area: w * h,
      bbox: [0, 0, w, h],
    });
    await s.release();
  });

  it('gives speckled masks (> 100k runs each) the JS upscaler’s RLE, area and box', async () => {
    // ±4 logits: at 1024² (one 4× bilinear step) every value is exact in float32 and none is 0, so the
    // graph and lowResToMask agree bit for bit; a second, non-integer resize may round a pixel either way.
    const rand = rng(17);
    const planes = Float32Array.from({ length: 2 * PLANE }, () => (rand() < 0.5 ? -4 : 4));
    planes[0] = 4; // mask 0 starts inside, mask 1 outside
    planes[PLANE] = -4;
    const s = await ort.InferenceSession.create(postprocessModel(1024, 17));
    for (const [w, h] of [
      [1024, 1024],
      [1023, 677],
    ] as const) {
      const geo = geometryFor(w, h, 1024);
      const masks = fromOutputs(await run(s, planes, geo), h, w);
      masks.forEach((m, k) => {
        const js = lowResToMask(planes.subarray(k * PLANE, (k + 1) * PLANE), geo);
        const counts = encode(js, h, w);
        expect(counts.counts.length).toBeGreaterThan(w === 1024 ? 100_000 : 50_000);
        if (w === 1024) {
          expect(m).toEqual({ rle: compress(counts), area: area(counts), bbox: toBbox(counts) });
          return;
        }
        const gpu = decode(m.rle);
        expectSummaryOf(m, gpu, h, w);
        let diff = 0;
        for (let i = 0; i < w * h; i++) if (js[i] !== gpu[i]) diff++;
        expect(diff).toBeLessThanOrEqual(5);
      });
    }
    await s.release();
  });

  it('handles images of a few pixels, down to one', async () => {
    const s = await ort.InferenceSession.create(postprocessModel(1024, 17));
    const planes = new Float32Array(2 * PLANE).fill(-4);
    planes.fill(4, 0, 128); // top half of the first low-res row
    planes.fill(4, PLANE); // all inside
    for (const [w, h] of [
      [1, 1],
      [2, 1],
      [1, 3],
      [3, 2],
    ] as const) {
      const out = await run(s, planes, geometryFor(w, h, 1024));
      // Downscaling 1024× is where the graph's and the JS resizes round differently: compare the RLE
      // with the mask it encodes, not with lowResToMask.
      const masks = fromOutputs(out, h, w);
      masks.forEach((m) => expectSummaryOf(m, decode(m.rle), h, w));
      expect(masks[1]).toEqual({
        rle: compress({ size: [h, w], counts: [0, w * h] }),
        area: w * h,
        bbox: [0, 0, w, h],
      });
    }
    await s.release();
  });
});

describe('post-processing for one image size (choiceFlipsModel, then changesModel)', () => {
  it('gives exactly the outputs of the dynamic post-processing model', async () => {
    const dynamic = await ort.InferenceSession.create(choicePostprocessModel(1024, 17));
    const changes = await ort.InferenceSession.create(changesModel(17));
    const rand = rng(5);
    for (const [w, h, B] of [
      [960, 540, 1],
      [333, 517, 3],
      [1, 1, 2],
    ] as const) {
      const geo = geometryFor(w, h, 1024);
      const sizes = [geo.resizedHeight, geo.resizedWidth, h, w] as const;
      const fixed = await ort.InferenceSession.create(choiceFlipsModel(1024, sizes, 17));
      // Smooth blobs in half the planes, speckle in the rest: runs of every length.
      const low = Float32Array.from({ length: B * 4 * PLANE }, (_, i) =>
        (i >> 16) % 2 ? (rand() < 0.5 ? -4 : 4) : Math.sin((i % 256) / 9) * Math.cos((i >> 8) / 13) * 8 - 1,
      );
      // Ties among outputs 1..3 for every prompt past the first: the first of them wins, as ArgMax's.
      const iou = Float32Array.from({ length: B * 4 }, (_, i) =>
        i >= 4 && i % 4 >= 2 ? 0.5 + 0.25 * ((i >> 2) % 2) : rand(),
      );
      const common = {
        low_res_masks: new ort.Tensor('float32', low, [B, 4, 256, 256]),
        iou_predictions: new ort.Tensor('float32', iou, [B, 4]),
        [POST.multimask]: new ort.Tensor(
          'bool',
          Uint8Array.from({ length: B }, (_, b) => b % 2),
          [B],
        ),
        [POST.threshold]: new ort.Tensor('float32', Float32Array.of(0.5), [1]),
      };
      const want = await dynamic.run({
        ...common,
        [POST.sizes]: new ort.Tensor('int64', BigInt64Array.from(sizes, BigInt), [4]),
      });
      const got = await fixed.run(common);
      expect(got[POST.flips]!.dims).toEqual([B, w * h]);
      const ch = await changes.run({ [POST.flips]: got[POST.flips]! });
      for (const name of [POST.index, POST.score, POST.chosen, POST.first, POST.runs]) {
        expect(got[name]!.dims).toEqual(want[name]!.dims);
        expect(got[name]!.data).toEqual(want[name]!.data);
      }
      expect(ch[POST.changes]!.data).toEqual(want[POST.changes]!.data);
      // Not a comparison of two empty lists: each image but the 1-pixel one has masks with edges.
      if (w * h > 1) expect((want[POST.changes]!.data as Int32Array).length).toBeGreaterThan(100 * B);
      await fixed.release();
    }
    await dynamic.release();
    await changes.release();
  });

  it('refuses sizes that are not positive integers', () => {
    expect(() => choiceFlipsModel(1024, [576, 1024, 0, 960], 17)).toThrow(RangeError);
    expect(() => choiceFlipsModel(1024, [576, 1024, 540.5, 960], 17)).toThrow(/positive integers/);
  });
});

describe('masksFromChanges', () => {
  const first = Uint8Array.of(0, 1);
  it('splits the changes by mask and gives each one its RLE, area and box', () => {
    // 3 × 2 masks: mask 0 is pixels 2..3 (column-major), mask 1 is pixel 0 and pixel 5.
    const masks = masksFromChanges(first, Int32Array.of(2, 2), Int32Array.of(1, 3, 0, 4), 3, 2);
    const want = (counts: number[]) => {
      const r = { size: [3, 2] as [number, number], counts };
      return { rle: compress(r), area: area(r), bbox: toBbox(r) };
    };
    expect(masks).toEqual([want([2, 2, 2]), want([0, 1, 4, 1])]);
  });

  it('rejects shares that do not add up to the changes, or changes that do not ascend in a mask', () => {
    expect(() => masksFromChanges(first, Int32Array.of(2, 1), Int32Array.of(1, 3, 0, 4), 3, 2)).toThrow(
      /masks account for 3, got 4/,
    );
    expect(() => masksFromChanges(first, Int32Array.of(2), Int32Array.of(1, 3), 3, 2)).toThrow(RangeError);
    expect(() => masksFromChanges(first, Int32Array.of(2, -1), Int32Array.of(1, 3, 0), 3, 2)).toThrow(
      RangeError,
    );
    expect(() => masksFromChanges(first, Int32Array.of(2, 2), Int32Array.of(3, 1, 0, 4), 3, 2)).toThrow(
      /mask 0: run start 1/,
    );
    expect(() => masksFromChanges(first, Int32Array.of(2, 2), Int32Array.of(1, 3, 0, 5), 3, 2)).toThrow(
      /mask 1: .*outside/,
    );
  });
});

describe('preprocessing graph', () => {
  it('equals normalizeToTensor when no resize is needed, and pads with zeros', async () => {
    const mean = [123.675, 116.28, 103.53];
    const std = [58.395, 57.12, 57.375];
    const s = await ort.InferenceSession.create(preprocessModel(64, mean, std, 17));
    const geo = geometryFor(64, 40, 64);
    const rgb = Uint8Array.from({ length: 64 * 40 * 3 }, (_, i) => (i * 7) % 256);
    const out = await s.run({
      [PRE.rgb]: new ort.Tensor('uint8', rgb, [40, 64, 3]),
      [PRE.sizes]: new ort.Tensor('int64', BigInt64Array.of(40n, 64n), [2]),
    });
    const want = normalizeToTensor(
      rgb,
      geo,
      mean as [number, number, number],
      std as [number, number, number],
    );
    const got = out[PRE.image]!.data as Float32Array;
    expect(out[PRE.image]!.dims).toEqual([1, 3, 64, 64]);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - got[i]!));
    expect(worst).toBeLessThan(1e-5);
    await s.release();
  });

  it('upscales bilinearly on the way (a flat image stays flat, an edge stays in place)', async () => {
    const s = await ort.InferenceSession.create(preprocessModel(64, [0, 0, 0], [1, 1, 1], 17));
    const rgb = new Uint8Array(16 * 32 * 3);
    for (let y = 0; y < 16; y++)
      for (let x = 16; x < 32; x++) rgb.fill(200, (y * 32 + x) * 3, (y * 32 + x) * 3 + 3);
    const out = await s.run({
      [PRE.rgb]: new ort.Tensor('uint8', rgb, [16, 32, 3]),
      [PRE.sizes]: new ort.Tensor('int64', BigInt64Array.of(32n, 64n), [2]),
    });
    const img = out[PRE.image]!.data as Float32Array;
    expect(img[10 * 64 + 5]).toBe(0);
    expect(img[10 * 64 + 60]).toBe(200);
    expect(img[10 * 64 + 31]).toBeGreaterThan(0);
    expect(img[10 * 64 + 31]).toBeLessThan(200);
    expect(img[40 * 64 + 60]).toBe(0); // padding
  });
});

describe('encoder with preprocessing in front', () => {
  const encoderBytes = (): Uint8Array =>
    new Uint8Array(readFileSync(path.join(fixtureModelDir(), 'encoder.onnx')));
  const mean = [123.675, 116.28, 103.53];
  const std = [58.395, 57.12, 57.375];

  it('gives the encoder outputs of preprocessing + encoder run one after the other', async () => {
    const bytes = encoderBytes();
    const input = readModelInfo(bytes).inputs[0]!;
    const fused = await ort.InferenceSession.create(encoderWithPreprocess(bytes, input, 1024, mean, std));
    const pre = await ort.InferenceSession.create(preprocessModel(1024, mean, std, 17));
    const enc = await ort.InferenceSession.create(bytes);
    expect([...fused.inputNames].sort()).toEqual([PRE.rgb, PRE.sizes].sort());
    expect(fused.outputNames).toEqual(enc.outputNames);
    // 300×200 RGB, upscaled to 1024×683 inside the graph.
    const rgb = Uint8Array.from({ length: 300 * 200 * 3 }, (_, i) => (i * 13 + (i >> 7)) % 256);
    const feeds = {
      [PRE.rgb]: new ort.Tensor('uint8', rgb, [200, 300, 3]),
      [PRE.sizes]: new ort.Tensor('int64', BigInt64Array.of(683n, 1024n), [2]),
    };
    const image = (await pre.run(feeds))[PRE.image]!;
    const want = (await enc.run({ [input]: image }))[enc.outputNames[0]!]!.data as Float32Array;
    const got = (await fused.run(feeds))[enc.outputNames[0]!]!.data as Float32Array;
    expect(got.length).toBe(want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - got[i]!));
    expect(worst).toBeLessThan(1e-4);
    await Promise.all([fused.release(), pre.release(), enc.release()]);
  });
});

/** The post-processing outputs of `out` as masks of h × w. */
function fromOutputs(out: ort.InferenceSession.ReturnType, h: number, w: number) {
  return masksFromChanges(
    out[POST.first]!.data as Uint8Array,
    out[POST.runs]!.data as Int32Array,
    out[POST.changes]!.data as Int32Array,
    h,
    w,
  );
}

/** `s` is the codec's RLE, area and box of the row-major mask `m`. */
function expectSummaryOf(s: RleSummary, m: Uint8Array, h: number, w: number): void {
  const counts = encode(m, h, w);
  expect(s).toEqual({ rle: compress(counts), area: area(counts), bbox: toBbox(counts) });
}
