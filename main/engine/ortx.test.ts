// ortx (our addon over onnxruntime's C API) against onnxruntime-node, both on the CPU provider of the same
// libonnxruntime: same model, same inputs, so outputs must agree to float rounding (in practice exactly).
// "Device" tensors are CPU memory here, so IO binding, hand-offs between sessions and the graph-slot
// bookkeeping (emulateCudaGraphOnCpu) all run; CUDA graph capture itself needs a GPU host.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeForSam } from './image.js';
import { fixtureModelDir, fixtureShapesDir } from './index.js';
import { SAM_NORMALIZATION } from './manifest.js';
import {
  isDeviceTensor,
  loadOrtx,
  ortxUnavailableReason,
  type DeviceTensor,
  type DownloadVia,
  type HostTensor,
  type Ortx,
  type OrtxSession,
} from './ortx.js';
import { normalizeToTensor } from './preprocess.js';

const ortx: Ortx | null = loadOrtx();
const reason = ortxUnavailableReason();
const required = process.env.MASKROOM_REQUIRE_ORTX === '1';
if (!ortx && !required)
  console.warn(`ortx tests skipped: ${reason} (MASKROOM_REQUIRE_ORTX=1 makes this a failure)`);

const model = (f: string) => path.join(fixtureModelDir(), f);

type Feeds = Record<string, HostTensor | DeviceTensor>;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function host(t: HostTensor | DeviceTensor | undefined): HostTensor {
  expect(t).toBeDefined();
  expect(isDeviceTensor(t!)).toBe(false);
  return t as HostTensor;
}

function device(t: HostTensor | DeviceTensor | undefined): DeviceTensor {
  expect(t).toBeDefined();
  expect(isDeviceTensor(t!)).toBe(true);
  return t as DeviceTensor;
}

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ type: 'float32', dims, data });

/** Prompt feeds of the batched decoder: B prompt sets of one click each (plus SAM's padding point). */
function batchedPrompts(clicks: [number, number][]): Feeds {
  const B = clicks.length;
  const coords = new Float32Array(B * 2 * 2);
  const labels = new Float32Array(B * 2);
  clicks.forEach(([x, y], b) => {
    coords.set([x, y, 0, 0], b * 4);
    labels.set([1, -1], b * 2);
  });
  return {
    point_coords: f32([B, 2, 2], coords),
    point_labels: f32([B, 2], labels),
    mask_input: f32([B, 1, 256, 256], new Float32Array(B * 256 * 256)),
    has_mask_input: f32([B], new Float32Array(B)),
  };
}

/** decoder.onnx feeds for one click. */
function singleFeeds(embeddings: HostTensor, x: number, y: number): Feeds {
  return {
    image_embeddings: embeddings,
    point_coords: f32([1, 2, 2], Float32Array.of(x, y, 0, 0)),
    point_labels: f32([1, 2], Float32Array.of(1, -1)),
    mask_input: f32([1, 1, 256, 256], new Float32Array(256 * 256)),
    has_mask_input: f32([1], Float32Array.of(0)),
    orig_im_size: f32([2], Float32Array.of(720, 1024)),
  };
}

function toOrt(feeds: Feeds): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([k, v]) => {
      const t = host(v);
      return [k, new ort.Tensor(t.type, t.data as Float32Array, t.dims)];
    }),
  );
}

/**
 * A minimal ONNX model: y_k = Identity(x_k), for the given ONNX element types (IR 8, opset 13). With
 * `passThrough`, no nodes: the outputs are the inputs x_k themselves (onnxruntime then returns the feed).
 */
function identityModel(types: number[], passThrough = false): Uint8Array {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return out;
  };
  const vint = (f: number, v: number) => [...varint((f << 3) | 0), ...varint(v)];
  const bytes = (f: number, b: number[]) => [...varint((f << 3) | 2), ...varint(b.length), ...b];
  const str = (f: number, s: string) => bytes(f, [...new TextEncoder().encode(s)]);
  // ValueInfoProto{name 1, type 2: TypeProto{tensor_type 1: {elem_type 1, shape 2: {dim 1: [2, "n"]}}}}
  const valueInfo = (name: string, t: number) => [
    ...str(1, name),
    ...bytes(2, bytes(1, [...vint(1, t), ...bytes(2, [...bytes(1, vint(1, 2)), ...bytes(1, str(2, 'n'))])])),
  ];
  const nodes = passThrough
    ? []
    : types.flatMap((_, k) =>
        bytes(1, [...str(1, `x${k}`), ...str(2, `y${k}`), ...str(3, `id${k}`), ...str(4, 'Identity')]),
      );
  const graph = [
    ...nodes,
    ...str(2, 'identity'),
    ...types.flatMap((t, k) => bytes(11, valueInfo(`x${k}`, t))),
    ...types.flatMap((t, k) => bytes(12, valueInfo(passThrough ? `x${k}` : `y${k}`, t))),
  ];
  return Uint8Array.from([
    ...vint(1, 8),
    ...str(2, 'maskroom'),
    ...bytes(7, graph),
    ...bytes(8, [...str(1, ''), ...vint(2, 13)]),
  ]);
}

/** The bytes of a typed array (the part it views), base64. */
function bytes64(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

const arrayTypes = {
  float32: Float32Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

/**
 * Runs `model` on the CPU in a fresh node process (the addon loaded there, with `env`) a few times, each run's
 * feeds rebuilt and referenced by nothing but the pending run while gc() runs; the session is released and
 * garbage collected before the last outputs are read. Returns the addon's externalBuffers flag and the last
 * outputs' bytes (base64).
 */
function runInChild(
  model: Uint8Array,
  feeds: Record<string, HostTensor>,
  fetches: string[],
  env: Record<string, string | undefined>,
): { externalBuffers: boolean; outputs: Record<string, { type: string; dims: number[]; data: string }> } {
  const script = `
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', async () => {
      const req = JSON.parse(Buffer.concat(chunks).toString());
      const addon = require(req.addon);
      const info = addon.init(req.lib);
      const ctors = { float32: Float32Array, float16: Uint16Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array };
      const feeds = () => Object.fromEntries(Object.entries(req.feeds).map(([k, t]) => {
        const b = Buffer.from(t.data, 'base64');
        const ab = new ArrayBuffer(b.length);
        new Uint8Array(ab).set(b);
        return [k, { type: t.type, dims: t.dims, data: new ctors[t.type](ab) }];
      }));
      const tick = () => new Promise((r) => setImmediate(r));
      const s = await addon.createSession(new Uint8Array(Buffer.from(req.model, 'base64')), { provider: 'cpu' });
      let out;
      for (let i = 0; i < 4; i++) {
        const p = s.run(feeds(), req.fetches.map((name) => ({ name })));
        global.gc();
        out = await p;
        await tick();
        global.gc();
      }
      s.release();
      global.gc();
      await tick();
      global.gc();
      const outputs = {};
      for (const [k, t] of Object.entries(out)) {
        outputs[k] = { type: t.type, dims: t.dims, data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64') };
      }
      process.stdout.write(JSON.stringify({ externalBuffers: info.externalBuffers, outputs }));
    });`;
  const req = {
    addon: path.join(path.dirname(fileURLToPath(import.meta.url)), 'ortx', 'build', 'Release', 'ortx.node'),
    lib: ortx!.libraryPath,
    model: Buffer.from(model).toString('base64'),
    feeds: Object.fromEntries(
      Object.entries(feeds).map(([k, t]) => [k, { type: t.type, dims: t.dims, data: bytes64(t.data) }]),
    ),
    fetches,
  };
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], {
    input: JSON.stringify(req),
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ReturnType<typeof runInChild>;
}

describe(`ortx${ortx ? '' : ` (unavailable: ${reason})`}`, () => {
  // Run the suite when the addon is there, or fail it when it is required; otherwise every test is skipped.
  const run = ortx !== null || required;
  const test = run ? it : it.skipIf(true);

  let encoder: OrtxSession;
  let decoder: OrtxSession;
  let batched: OrtxSession;
  let ortEncoder: ort.InferenceSession;
  let ortBatched: ort.InferenceSession;
  let image: Float32Array;
  let embeddings: HostTensor;

  beforeAll(async () => {
    if (!ortx) return;
    [encoder, decoder, batched, ortEncoder, ortBatched] = await Promise.all([
      ortx.createSession(model('encoder.onnx'), { provider: 'cpu' }),
      ortx.createSession(model('decoder.onnx'), { provider: 'cpu' }),
      ortx.createSession(model('decoder_batched.onnx'), { provider: 'cpu', graphOptimizationLevel: 'all' }),
      ort.InferenceSession.create(model('encoder.onnx')),
      ort.InferenceSession.create(model('decoder_batched.onnx')),
    ]);
    const scene = readFileSync(path.join(fixtureShapesDir(), 'shapes_02.jpg'));
    const d = await decodeForSam(scene, 1024);
    image = normalizeToTensor(d.rgb, d.geometry, SAM_NORMALIZATION.mean, SAM_NORMALIZATION.std);
    const out = await encoder.run({ image: f32([1, 3, 1024, 1024], image) }, [{ name: 'image_embeddings' }]);
    embeddings = host(out.image_embeddings);
  });
  afterAll(async () => {
    for (const s of [encoder, decoder, batched]) s?.release();
    await Promise.all([ortEncoder?.release(), ortBatched?.release()]);
  });

  test('loads over onnxruntime-node’s libonnxruntime', () => {
    expect(ortx, `ortx unavailable: ${reason}`).not.toBeNull();
    expect(ortxUnavailableReason()).toBeNull();
    expect(ortx!.version).toBe('1.29.0');
    expect(ortx!.libraryPath).toMatch(/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/libonnxruntime\.so\.1$/);
  });

  test('session metadata matches onnxruntime-node (names, types, symbolic dims)', async () => {
    const ref = await ort.InferenceSession.create(model('decoder.onnx'));
    try {
      const strip = (m: readonly ort.InferenceSession.ValueMetadata[]) =>
        m.map((v) => ({ name: v.name, type: v.isTensor ? v.type : '?', shape: v.isTensor ? v.shape : [] }));
      expect(decoder.inputs).toEqual(strip(ref.inputMetadata));
      expect(decoder.outputs).toEqual(strip(ref.outputMetadata));
      expect(decoder.inputs.map((i) => i.name)).toEqual([
        'image_embeddings',
        'point_coords',
        'point_labels',
        'mask_input',
        'has_mask_input',
        'orig_im_size',
      ]);
      expect(decoder.inputs[1]!.shape).toEqual([1, 'num_points', 2]);
      expect(batched.outputs).toEqual([
        { name: 'iou_predictions', type: 'float32', shape: ['B', 4] },
        { name: 'low_res_masks', type: 'float32', shape: ['B', 4, 256, 256] },
      ]);
    } finally {
      await ref.release();
    }
  });

  test('encoder on a real scene: image_embeddings equal onnxruntime-node’s', async () => {
    const ref = await ortEncoder.run({ image: new ort.Tensor('float32', image, [1, 3, 1024, 1024]) });
    const want = ref.image_embeddings!.data as Float32Array;
    expect(embeddings.type).toBe('float32');
    expect(embeddings.dims).toEqual([1, 256, 64, 64]);
    expect(embeddings.data).toBeInstanceOf(Float32Array);
    expect(maxAbsDiff(embeddings.data as Float32Array, want)).toBeLessThanOrEqual(1e-5);
    // Not a degenerate comparison: the embedding varies.
    const e = embeddings.data as Float32Array;
    expect(Math.max(...e.subarray(0, 4096)) - Math.min(...e.subarray(0, 4096))).toBeGreaterThan(0.1);
  });

  test('device chaining: encoder output kept on the device feeds the batched decoder', async () => {
    const enc = await encoder.run({ image: f32([1, 3, 1024, 1024], image) }, [
      { name: 'image_embeddings', device: true },
    ]);
    const dt = device(enc.image_embeddings);
    expect([dt.type, dt.dims, dt.device, dt.released]).toEqual(['float32', [1, 256, 64, 64], 'cpu', false]);
    const downloaded = await dt.download();
    expect(downloaded.dims).toEqual([1, 256, 64, 64]);
    expect(maxAbsDiff(downloaded.data as Float32Array, embeddings.data as Float32Array)).toBe(0);

    const prompts = batchedPrompts([
      [300, 200],
      [600, 450],
      [150, 500],
    ]);
    const fetches = [{ name: 'low_res_masks' }, { name: 'iou_predictions' }];
    const viaDevice = await batched.run({ ...prompts, image_embeddings: dt }, fetches);
    const viaHost = await batched.run({ ...prompts, image_embeddings: downloaded }, fetches);
    const ref = await ortBatched.run(toOrt({ ...prompts, image_embeddings: embeddings }));
    const low = host(viaDevice.low_res_masks);
    expect(low.dims).toEqual([3, 4, 256, 256]);
    expect(maxAbsDiff(low.data as Float32Array, host(viaHost.low_res_masks).data as Float32Array)).toBe(0);
    expect(maxAbsDiff(low.data as Float32Array, ref.low_res_masks!.data as Float32Array)).toBeLessThanOrEqual(
      1e-4,
    );
    expect(
      maxAbsDiff(
        host(viaDevice.iou_predictions).data as Float32Array,
        ref.iou_predictions!.data as Float32Array,
      ),
    ).toBeLessThanOrEqual(1e-5);
    // The three prompts give three different masks (the comparison is not between constants).
    const plane = 4 * 256 * 256;
    const d = low.data as Float32Array;
    expect(maxAbsDiff(d.subarray(0, plane), d.subarray(plane, 2 * plane))).toBeGreaterThan(1);

    // Device outputs of the decoder feed on into another run; a released tensor is refused.
    const dev = await batched.run({ ...prompts, image_embeddings: dt }, [
      { name: 'low_res_masks', device: true },
    ]);
    const lowDev = device(dev.low_res_masks);
    expect(maxAbsDiff((await lowDev.download()).data as Float32Array, d)).toBe(0);
    lowDev.release();
    expect(lowDev.released).toBe(true);
    await expect(lowDev.download()).rejects.toThrow(/released DeviceTensor/);
    dt.release();
    await expect(batched.run({ ...prompts, image_embeddings: dt }, fetches)).rejects.toThrow(
      /image_embeddings.*released DeviceTensor/,
    );
  });

  test('a session from a Uint8Array equals one from the path', async () => {
    const fromBytes = await ortx!.createSession(new Uint8Array(readFileSync(model('decoder.onnx'))), {
      provider: 'cpu',
      intraOpNumThreads: 1,
      logSeverityLevel: 3,
    });
    try {
      expect(fromBytes.inputs).toEqual(decoder.inputs);
      const feeds = singleFeeds(embeddings, 412, 300);
      const fetches = decoder.outputs.map((o) => ({ name: o.name }));
      const a = await fromBytes.run(feeds, fetches);
      const b = await decoder.run(feeds, fetches);
      for (const o of fetches) {
        expect(host(a[o.name]).dims).toEqual(host(b[o.name]).dims);
        expect(maxAbsDiff(host(a[o.name]).data as Float32Array, host(b[o.name]).data as Float32Array)).toBe(
          0,
        );
      }
      expect(host(a.masks).dims).toEqual([1, 4, 720, 1024]);
    } finally {
      fromBytes.release();
    }
    await expect(fromBytes.run(singleFeeds(embeddings, 1, 1), [{ name: 'masks' }])).rejects.toThrow(
      /released/,
    );
  });

  test('freeDimensionOverrides: fixed dimensions give the dynamic session’s outputs (rounding aside) and refuse other shapes', async () => {
    const fixed = await ortx!.createSession(model('decoder_batched.onnx'), {
      provider: 'cpu',
      logSeverityLevel: 3,
      freeDimensionOverrides: { B: 2, num_points: 2 },
    });
    try {
      expect(fixed.inputs.find((i) => i.name === 'point_coords')!.shape).toEqual([2, 2, 2]);
      const feeds = {
        ...batchedPrompts([
          [300, 200],
          [640, 410],
        ]),
        image_embeddings: embeddings,
      };
      const fetches = [{ name: 'low_res_masks' }, { name: 'iou_predictions' }];
      const a = await fixed.run(feeds, fetches);
      const b = await batched.run(feeds, fetches);
      for (const o of fetches) {
        expect(
          maxAbsDiff(host(a[o.name]).data as Float32Array, host(b[o.name]).data as Float32Array),
        ).toBeLessThan(1e-4);
      }
      await expect(
        fixed.run({ ...batchedPrompts([[300, 200]]), image_embeddings: embeddings }, fetches),
      ).rejects.toThrow(/onnxruntime: .*point_coords/);
    } finally {
      fixed.release();
    }
    await expect(
      ortx!.createSession(model('decoder_batched.onnx'), {
        provider: 'cpu',
        freeDimensionOverrides: { B: 0 },
      }),
    ).rejects.toThrow(/freeDimensionOverrides\.B must be a positive integer/);
  });

  test('element types round-trip: float16, int64, int32, uint8, bool', async () => {
    // ONNX element types: FLOAT16 10, INT64 7, INT32 6, UINT8 2, BOOL 9, FLOAT 1
    const s = await ortx!.createSession(identityModel([10, 7, 6, 2, 9, 1]), { provider: 'cpu' });
    try {
      expect(s.inputs.map((i) => [i.type, i.shape])).toEqual([
        ['float16', [2, 'n']],
        ['int64', [2, 'n']],
        ['int32', [2, 'n']],
        ['uint8', [2, 'n']],
        ['bool', [2, 'n']],
        ['float32', [2, 'n']],
      ]);
      const feeds: Feeds = {
        x0: { type: 'float16', dims: [2, 2], data: Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001) },
        x1: { type: 'int64', dims: [2, 2], data: BigInt64Array.of(-(2n ** 62n), 1n, 2n ** 40n, 0n) },
        x2: { type: 'int32', dims: [2, 2], data: Int32Array.of(-7, 2 ** 31 - 1, 0, 5) },
        x3: { type: 'uint8', dims: [2, 2], data: Uint8Array.of(0, 255, 7, 128) },
        x4: { type: 'bool', dims: [2, 2], data: Uint8Array.of(1, 0, 0, 1) },
        x5: { type: 'float32', dims: [2, 2], data: Float32Array.of(1.5, -0, Infinity, 3e-39) },
      };
      const out = await s.run(
        feeds,
        [0, 1, 2, 3, 4, 5].map((k) => ({ name: `y${k}`, device: k % 2 === 1 })),
      );
      for (let k = 0; k < 6; k++) {
        const o = out[`y${k}`]!;
        const h = isDeviceTensor(o) ? await o.download() : o;
        const want = host(feeds[`x${k}`]);
        expect(h.type).toBe(want.type);
        expect(h.dims).toEqual([2, 2]);
        expect(h.data.constructor).toBe(want.data.constructor);
        expect(Array.from(h.data as ArrayLike<number | bigint>)).toEqual(
          Array.from(want.data as ArrayLike<number | bigint>),
        );
      }
    } finally {
      s.release();
    }
  });

  test('errors: bad feeds and fetches name the argument; onnxruntime’s errors carry its message', async () => {
    const feeds = singleFeeds(embeddings, 100, 100);
    const fetch = [{ name: 'iou_predictions' }];
    await expect(decoder.run({ ...feeds, bogus_input: feeds.orig_im_size! }, fetch)).rejects.toThrow(
      /"bogus_input" is not an input of this model \(inputs: image_embeddings, point_coords/,
    );
    await expect(decoder.run({ ...feeds, bogus_input: feeds.orig_im_size! }, fetch)).rejects.toBeInstanceOf(
      TypeError,
    );
    const { has_mask_input: _, ...missing } = feeds;
    await expect(decoder.run(missing, fetch)).rejects.toThrow(/missing input\(s\) has_mask_input/);
    await expect(
      decoder.run(
        { ...feeds, point_labels: { type: 'int32', dims: [1, 2], data: Int32Array.of(1, -1) } },
        fetch,
      ),
    ).rejects.toThrow(
      /feeds\["point_labels"\] has type int32 but the model's input "point_labels" is float32/,
    );
    await expect(
      decoder.run(
        { ...feeds, point_labels: { type: 'float32', dims: [1, 2], data: Int32Array.of(1, -1) } },
        fetch,
      ),
    ).rejects.toThrow(/feeds\["point_labels"\]\.data must be a Float32Array for type float32/);
    await expect(
      decoder.run({ ...feeds, point_labels: f32([1, 3], Float32Array.of(1, -1)) }, fetch),
    ).rejects.toThrow(/feeds\["point_labels"\]\.data has 2 elements but dims \[1,3\] need 3/);
    await expect(decoder.run(feeds, [{ name: 'nope' }])).rejects.toThrow(
      /fetches\[0\]: "nope" is not an output of this model \(outputs: masks, iou_predictions, low_res_masks\)/,
    );
    await expect(decoder.run(feeds, [])).rejects.toThrow(/fetches must be a non-empty array/);
    // A shape the model cannot take: onnxruntime's own error, prefixed.
    await expect(
      decoder.run(
        { ...feeds, image_embeddings: f32([1, 256, 32, 32], new Float32Array(256 * 32 * 32)) },
        fetch,
      ),
    ).rejects.toThrow(/^onnxruntime: .*image_embeddings/);
    await expect(ortx!.createSession(model('missing.onnx'), { provider: 'cpu' })).rejects.toThrow(
      /^onnxruntime: .*missing\.onnx/,
    );
    await expect(ortx!.createSession(Uint8Array.of(1, 2, 3, 4), { provider: 'cpu' })).rejects.toThrow(
      /^onnxruntime: /,
    );
    await expect(ortx!.createSession(model('decoder.onnx'), { provider: 'tpu' as 'cpu' })).rejects.toThrow(
      /opts\.provider must be one of cpu, cuda/,
    );
    await expect(
      ortx!.createSession(model('decoder.onnx'), { provider: 'cpu', graphOptimizationLevel: 'max' as 'all' }),
    ).rejects.toBeInstanceOf(TypeError);
    // Extra CUDA provider options are checked for shape here; onnxruntime checks their names and values.
    for (const extra of [
      [1, 2],
      { 'Bad-Name': 1 },
      { device_id: 1 },
      { sdpa_kernel: 1.5 },
      { sdpa_kernel: {} },
    ] as unknown as Record<string, string>[])
      await expect(
        ortx!.createSession(model('decoder.onnx'), { provider: 'cuda', cuda: { extra } }),
      ).rejects.toBeInstanceOf(TypeError);
    // graphId needs a CUDA session with CUDA graphs.
    await expect(decoder.run(feeds, fetch, { graphId: 0 })).rejects.toThrow(
      /graphId needs a CUDA session created with cuda\.enableCudaGraph: true; this session is a CPU session/,
    );
    await expect(decoder.run(feeds, fetch, { graphId: -2 })).rejects.toThrow(/graphId must be an integer/);
    // The session still works after all that.
    expect(host((await decoder.run(feeds, fetch)).iou_predictions).dims).toEqual([1, 4]);
  });

  test('download(via): anything but staged or pageable is refused; host tensors are not counted', async () => {
    const enc = await encoder.run({ image: f32([1, 3, 1024, 1024], image) }, [
      { name: 'image_embeddings', device: true },
    ]);
    const dt = device(enc.image_embeddings);
    try {
      await expect(dt.download('pinned' as DownloadVia)).rejects.toThrow(
        /download\(via\): via must be "staged" or "pageable"/,
      );
      await expect(dt.download(3 as unknown as DownloadVia)).rejects.toThrow(TypeError);
      const before = ortx!.downloadCounts();
      for (const via of [undefined, 'staged', 'pageable'] as const) {
        const got = await dt.download(via);
        expect(maxAbsDiff(got.data as Float32Array, embeddings.data as Float32Array)).toBe(0);
      }
      // A CPU session's "device" tensor is host memory: neither CUDA path ran.
      expect(ortx!.downloadCounts()).toEqual(before);
    } finally {
      dt.release();
    }
  });

  test('CUDA provider: a clear rejection where CUDA cannot load, matching results where it can', async () => {
    let s: OrtxSession;
    try {
      s = await ortx!.createSession(model('decoder_batched.onnx'), {
        provider: 'cuda',
        cuda: {
          cudnnConvAlgoSearch: 'HEURISTIC',
          arenaExtendStrategy: 'kSameAsRequested',
          useTf32: false,
          extra: { sdpa_kernel: 0, prefer_nhwc: false },
        },
      });
    } catch (err) {
      // This machine: no GPU, the CUDA provider's libraries cannot load. A rejection, not a crash.
      expect((err as Error).message).toMatch(/^onnxruntime: .*(cuda|CUDA)/);
      expect((err as Error).message).toMatch(/CUDA execution provider could not be set up/);
      return;
    }
    // A GPU host: the same answers as the CPU session, through device-resident chaining.
    try {
      const prompts = batchedPrompts([[300, 200]]);
      const fetches = [{ name: 'low_res_masks' }];
      const a = host((await s.run({ ...prompts, image_embeddings: embeddings }, fetches)).low_res_masks);
      const b = host(
        (await batched.run({ ...prompts, image_embeddings: embeddings }, fetches)).low_res_masks,
      );
      expect(maxAbsDiff(a.data as Float32Array, b.data as Float32Array)).toBeLessThan(1e-2);
      const dev = device(
        (await s.run({ ...prompts, image_embeddings: embeddings }, [{ name: 'low_res_masks', device: true }]))
          .low_res_masks,
      );
      expect(dev.device).toBe('cuda');
      expect(maxAbsDiff((await dev.download()).data as Float32Array, a.data as Float32Array)).toBe(0);
      // Both download paths (pageable, the default, and staged through pinned memory) give the same bytes.
      const before = ortx!.downloadCounts();
      const staged = await dev.download('staged');
      const pageable = await dev.download('pageable');
      expect(maxAbsDiff(staged.data as Float32Array, a.data as Float32Array)).toBe(0);
      expect(maxAbsDiff(pageable.data as Float32Array, a.data as Float32Array)).toBe(0);
      const after = ortx!.downloadCounts();
      expect(after.staged + after.pageable).toBe(before.staged + before.pageable + 2);
      expect(after.pageable).toBeGreaterThanOrEqual(before.pageable + 1);
      dev.release();
      await expect(batched.run({ ...prompts, image_embeddings: dev }, fetches)).rejects.toThrow(/released/);
    } finally {
      s.release();
    }
  });

  test('graph slots (emulated on CPU): first run sizes and binds the slot, later runs replay into it', async () => {
    const g = await ortx!.createSession(model('decoder_batched.onnx'), {
      provider: 'cpu',
      emulateCudaGraphOnCpu: true,
    });
    try {
      const fetches = [{ name: 'low_res_masks' }, { name: 'iou_predictions', device: true }];
      const expectSame = async (
        out: Record<string, HostTensor | DeviceTensor>,
        clicks: [number, number][],
      ) => {
        const ref = await batched.run({ ...batchedPrompts(clicks), image_embeddings: embeddings }, [
          { name: 'low_res_masks' },
          { name: 'iou_predictions' },
        ]);
        expect(
          maxAbsDiff(
            host(out.low_res_masks).data as Float32Array,
            host(ref.low_res_masks).data as Float32Array,
          ),
        ).toBe(0);
        const iou = device(out.iou_predictions);
        expect(
          maxAbsDiff(
            (await iou.download()).data as Float32Array,
            host(ref.iou_predictions).data as Float32Array,
          ),
        ).toBe(0);
      };
      const clicksA: [number, number][] = [
        [300, 200],
        [600, 450],
      ];
      const clicksB: [number, number][] = [
        [150, 500],
        [700, 100],
      ];
      // The embedding goes in as a device tensor, the prompts from the host.
      const enc = await encoder.run({ image: f32([1, 3, 1024, 1024], image) }, [
        { name: 'image_embeddings', device: true },
      ]);
      const emb = device(enc.image_embeddings);
      await expectSame(
        await g.run({ ...batchedPrompts(clicksA), image_embeddings: emb }, fetches, { graphId: 3 }),
        clicksA,
      );
      expect(g.graphSlots()).toEqual([{ graphId: 3, replays: 0 }]);
      const first = await g.run({ ...batchedPrompts(clicksB), image_embeddings: embeddings }, fetches, {
        graphId: 3,
      });
      await expectSame(first, clicksB);
      // Outputs were copied out of the slot: the next replay does not change them.
      const kept = Float32Array.from(host(first.low_res_masks).data as Float32Array);
      await expectSame(
        await g.run({ ...batchedPrompts(clicksA), image_embeddings: emb }, fetches, { graphId: 3 }),
        clicksA,
      );
      expect(maxAbsDiff(host(first.low_res_masks).data as Float32Array, kept)).toBe(0);
      expect(g.graphSlots()).toEqual([{ graphId: 3, replays: 2 }]);
      // Plain runs of the same session are unaffected.
      await expectSame(await g.run({ ...batchedPrompts(clicksB), image_embeddings: emb }, fetches), clicksB);

      // Shapes, names and fetches are fixed per graphId.
      await expect(
        g.run({ ...batchedPrompts([[1, 1]]), image_embeddings: emb }, fetches, { graphId: 3 }),
      ).rejects.toThrow(
        /graphId 3: input "point_coords" was captured as float32\[2,2,2\], got float32\[1,2,2\]/,
      );
      await expect(
        g.run({ ...batchedPrompts(clicksA), image_embeddings: emb }, [{ name: 'iou_predictions' }], {
          graphId: 3,
        }),
      ).resolves.toBeDefined();
      // A new graphId with other shapes gets its own slot; at most 16.
      const one = await g.run({ ...batchedPrompts([[50, 60]]), image_embeddings: emb }, fetches, {
        graphId: 0,
      });
      await expectSame(one, [[50, 60]]);
      for (let id = 100; id < 114; id++) {
        await g.run({ ...batchedPrompts([[50, 60]]), image_embeddings: emb }, [{ name: 'iou_predictions' }], {
          graphId: id,
        });
      }
      expect(g.graphSlots().length).toBe(16);
      await expect(
        g.run({ ...batchedPrompts([[50, 60]]), image_embeddings: emb }, fetches, { graphId: 999 }),
      ).rejects.toThrow(/already has 16 CUDA graph slots/);
      await expectSame(
        await g.run({ ...batchedPrompts([[9, 9]]), image_embeddings: emb }, fetches, { graphId: 0 }),
        [[9, 9]],
      );
      emb.release();
    } finally {
      g.release();
    }
  });

  test('concurrent runs on one session are queued and each resolves with its own result', async () => {
    const clicks: [number, number][] = [
      [100, 100],
      [300, 200],
      [600, 450],
      [800, 300],
      [150, 500],
    ];
    const fetches = [{ name: 'iou_predictions' }, { name: 'low_res_masks' }];
    const sequential: HostTensor[] = [];
    for (const [x, y] of clicks) {
      sequential.push(host((await decoder.run(singleFeeds(embeddings, x, y), fetches)).low_res_masks));
    }
    // Several runs queued at once, each with its own feed arrays (read in place when it executes, not
    // copied at call time): each reads its own.
    const feedSets = clicks.map(([x, y]) => singleFeeds(embeddings, x, y));
    const pending = feedSets.map((f) => decoder.run(f, fetches));
    const together = await Promise.all(pending);
    together.forEach((out, i) => {
      expect(
        maxAbsDiff(host(out.low_res_masks).data as Float32Array, sequential[i]!.data as Float32Array),
      ).toBe(0);
    });
    // Distinct clicks, distinct results.
    expect(
      maxAbsDiff(sequential[0]!.data as Float32Array, sequential[2]!.data as Float32Array),
    ).toBeGreaterThan(1);
    // A failing run in the queue rejects alone.
    const mixed = await Promise.allSettled([
      decoder.run(feedSets[0]!, fetches),
      decoder.run(
        { ...feedSets[0]!, image_embeddings: f32([1, 256, 8, 8], new Float32Array(256 * 64)) },
        fetches,
      ),
      decoder.run(singleFeeds(embeddings, 100, 100), fetches),
    ]);
    expect(mixed.map((m) => m.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const last = mixed[2] as PromiseFulfilledResult<Record<string, HostTensor | DeviceTensor>>;
    expect(
      maxAbsDiff(host(last.value.low_res_masks).data as Float32Array, sequential[0]!.data as Float32Array),
    ).toBe(0);
  });
  test('host feeds are read in place: views at an offset, one array in two feeds, small arrays, queued runs', async () => {
    const s = await ortx!.createSession(identityModel([1, 1, 1]), { provider: 'cpu' });
    try {
      const fetches = [{ name: 'y0' }, { name: 'y1' }, { name: 'y2' }];
      const sets = [0, 1, 2, 3].map((k) => {
        // A view 12 bytes into a larger buffer; one (small, on-heap) array fed twice.
        const big = new Float32Array(64).map((_, i) => i * 10 + k);
        const shared = Float32Array.of(k, -k, k / 2, 1e30 * k);
        const feeds: Feeds = {
          x0: f32([2, 2], new Float32Array(big.buffer, 12, 4)),
          x1: f32([2, 2], shared),
          x2: f32([2, 2], shared),
        };
        return { feeds, want: [[30 + k, 40 + k, 50 + k, 60 + k], Array.from(shared), Array.from(shared)] };
      });
      const outs = await Promise.all(sets.map(({ feeds }) => s.run(feeds, fetches)));
      outs.forEach((out, k) => {
        for (let i = 0; i < 3; i++) {
          const t = host(out[`y${i}`]);
          expect(t.dims).toEqual([2, 2]);
          expect(Array.from(t.data as Float32Array)).toEqual(sets[k]!.want[i]);
        }
      });
      // Outputs do not share the feeds' memory: changing a feed afterwards leaves them alone.
      (host(sets[0]!.feeds.x1).data as Float32Array).fill(7);
      expect(Array.from(host(outs[0]!.y1).data as Float32Array)).toEqual(sets[0]!.want[1]);
      // Empty tensors.
      const empty = await s.run(
        {
          x0: f32([2, 0], new Float32Array(0)),
          x1: f32([2, 0], new Float32Array(0)),
          x2: f32([2, 0], new Float32Array(0)),
        },
        fetches,
      );
      expect(host(empty.y0).dims).toEqual([2, 0]);
      expect(host(empty.y0).data).toHaveLength(0);
    } finally {
      s.release();
    }
    // A model whose outputs are its inputs: onnxruntime returns the feed's own value, which ortx copies
    // (host and device fetches alike), as the feed's memory stays the caller's.
    const pass = await ortx!.createSession(identityModel([1, 1], true), { provider: 'cpu' });
    try {
      const a = Float32Array.of(1, 2, 3, 4);
      const b = Float32Array.of(5, 6, 7, 8);
      const out = await pass.run({ x0: f32([2, 2], a), x1: f32([2, 2], b) }, [
        { name: 'x0' },
        { name: 'x1', device: true },
      ]);
      a.fill(0);
      b.fill(0);
      expect(Array.from(host(out.x0).data as Float32Array)).toEqual([1, 2, 3, 4]);
      const dev = device(out.x1);
      expect(Array.from((await dev.download()).data as Float32Array)).toEqual([5, 6, 7, 8]);
      // And fed back in as a device tensor, passed through to the host.
      const again = await pass.run({ x0: f32([2, 2], a), x1: dev }, [{ name: 'x0' }, { name: 'x1' }]);
      expect(Array.from(host(again.x1).data as Float32Array)).toEqual([5, 6, 7, 8]);
      dev.release();
    } finally {
      pass.release();
    }
  });

  test('host outputs: external buffers over onnxruntime’s memory and the copying fallback give the same data', async () => {
    // Plain Node allows external ArrayBuffers (Electron does not), unless this process was told otherwise.
    expect(ortx!.externalBuffers).toBe(process.env.ORTX_NO_EXTERNAL_BUFFERS !== '1');
    // Every element type; random bit patterns (NaN payloads included) must come back exactly.
    const types = [10, 7, 6, 2, 9, 1];
    const names: HostTensor['type'][] = ['float16', 'int64', 'int32', 'uint8', 'bool', 'float32'];
    const n = 1 << 16;
    let seed = 12345;
    const feeds: Record<string, HostTensor> = Object.fromEntries(
      names.map((type, k) => {
        const data = new arrayTypes[type](2 * n);
        const raw = new Uint8Array(data.buffer);
        for (let i = 0; i < raw.length; i++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          raw[i] = type === 'bool' ? (seed >>> 16) & 1 : seed >>> 24;
        }
        return [`x${k}`, { type, dims: [2, n], data }];
      }),
    );
    const fetches = names.map((_, k) => `y${k}`);
    const model = identityModel(types);
    const s = await ortx!.createSession(model, { provider: 'cpu' });
    let local: Record<string, HostTensor | DeviceTensor>;
    try {
      local = await s.run(
        feeds,
        fetches.map((name) => ({ name })),
      );
    } finally {
      s.release();
    }
    const external = runInChild(model, feeds, fetches, { ORTX_NO_EXTERNAL_BUFFERS: undefined });
    const copied = runInChild(model, feeds, fetches, { ORTX_NO_EXTERNAL_BUFFERS: '1' });
    expect(external.externalBuffers).toBe(true);
    expect(copied.externalBuffers).toBe(false);
    names.forEach((type, k) => {
      const want = bytes64(feeds[`x${k}`]!.data);
      const mine = host(local[`y${k}`]);
      expect(mine.type).toBe(type);
      expect(mine.data.constructor).toBe(arrayTypes[type]);
      expect(bytes64(mine.data)).toBe(want);
      for (const other of [external, copied]) {
        expect(other.outputs[`y${k}`]).toEqual({ type, dims: [2, n], data: want });
      }
    });
  });
});
