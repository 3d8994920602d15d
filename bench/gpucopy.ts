// What keeping tensors on the GPU would save (issue "GPU speed": "keep embeddings on the GPU between decoder
// calls where onnxruntime-node allows it, otherwise measure the copy"). onnxruntime-node has no IO binding for
// CUDA, so every decoder call uploads the image embedding (and SAM 2.1's two high-res feature maps) again.
// `npm run bench -- --suite gpucopy --provider cuda`:
//   - upload: a graph that only reduces its input, fed the embedding-sized tensors (time ≈ host→device copy);
//   - download: a graph that only expands a scalar to the embedding's shape (≈ device→host copy);
//   - gpu-buffer: whether `preferredOutputLocation: 'gpu-buffer'` gives a tensor that stays on the device
//     and can be fed to the next session (what IO binding would need).
import ort from 'onnxruntime-node';
import { GraphBuilder, MIN_OPSET } from '../main/engine/graphs.js';
import { chooseProvider, sessionOptions } from '../main/engine/providers.js';
import { percentile, type BenchOptions, type SuiteResult } from './types.js';

const SETS: { name: string; shapes: number[][] }[] = [
  { name: 'SAM embedding (4 MB)', shapes: [[1, 256, 64, 64]] },
  {
    name: 'SAM 2.1 embedding + high-res features (14.7 MB)',
    shapes: [
      [1, 256, 64, 64],
      [1, 32, 256, 256],
      [1, 64, 128, 128],
    ],
  },
];

/** n inputs of the given shapes → one scalar (sum of their sums). */
function sinkModel(shapes: number[][]): Uint8Array {
  const g = new GraphBuilder('copy_');
  const sums = shapes.map((s, i) =>
    g.op('ReduceSum', [g.input(`x${i}`, 'float', s), g.i64([...s.keys()])], { keepdims: 0 }),
  );
  const total = sums.reduce((a, b) => g.op('Add', [a, b]));
  g.output(total, 'y', 'float', []);
  return g.toModel(MIN_OPSET);
}

/** A scalar → the given shape filled with it. */
function sourceModel(shape: number[]): Uint8Array {
  const g = new GraphBuilder('copy_');
  const x = g.input('x', 'float', [1]);
  g.output(g.op('Expand', [x, g.i64(shape)]), 'y', 'float', shape);
  return g.toModel(MIN_OPSET);
}

async function timeRuns(n: number, f: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 3; i++) await f();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    out.push(performance.now() - t0);
  }
  return out;
}

export async function run(opts: BenchOptions): Promise<SuiteResult> {
  const provider = await chooseProvider(opts.provider);
  const so = sessionOptions(provider);
  const n = opts.quick ? 10 : 50;
  const rows: SuiteResult['rows'] = [];
  const notes: string[] = [
    `provider ${provider.active}${provider.fallbackReason ? ` (${provider.fallbackReason})` : ''}`,
  ];

  // The floor: a scalar in, a scalar out (session call overhead, no payload).
  const tiny = await ort.InferenceSession.create(sinkModel([[1]]), so);
  const one = { x0: new ort.Tensor('float32', Float32Array.of(1), [1]) };
  const base = await timeRuns(n, () => tiny.run(one));
  rows.push({
    what: 'empty call (overhead)',
    p50_ms: +percentile(base, 50).toFixed(3),
    p90_ms: +percentile(base, 90).toFixed(3),
  });
  await tiny.release();

  for (const set of SETS) {
    const up = await ort.InferenceSession.create(sinkModel(set.shapes), so);
    const feeds: Record<string, ort.Tensor> = {};
    set.shapes.forEach((s, i) => {
      const len = s.reduce((a, b) => a * b, 1);
      feeds[`x${i}`] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: len }, (_, k) => k % 7),
        s,
      );
    });
    const t = await timeRuns(n, () => up.run(feeds));
    rows.push({
      what: `upload ${set.name}`,
      p50_ms: +percentile(t, 50).toFixed(3),
      p90_ms: +percentile(t, 90).toFixed(3),
    });
    await up.release();
  }
  const down = await ort.InferenceSession.create(sourceModel([1, 256, 64, 64]), so);
  const d = await timeRuns(n, () => down.run({ x: new ort.Tensor('float32', Float32Array.of(2), [1]) }));
  rows.push({
    what: 'download SAM embedding (4 MB)',
    p50_ms: +percentile(d, 50).toFixed(3),
    p90_ms: +percentile(d, 90).toFixed(3),
  });
  await down.release();

  // Can an output stay on the device and feed the next session?
  let gpuBuffer: string;
  try {
    const src = await ort.InferenceSession.create(sourceModel([1, 256, 64, 64]), {
      ...so,
      preferredOutputLocation: 'gpu-buffer',
    });
    const out = await src.run({ x: new ort.Tensor('float32', Float32Array.of(2), [1]) });
    const y = out.y!;
    gpuBuffer = `output location "${y.location}"`;
    const sink = await ort.InferenceSession.create(sinkModel([[1, 256, 64, 64]]), so);
    const r = await sink.run({ x0: y });
    gpuBuffer += `; fed to a second session: sum ${String((r.y!.data as Float32Array)[0])} (expected ${2 * 256 * 64 * 64})`;
    await sink.release();
    await src.release();
  } catch (err) {
    gpuBuffer = `not usable: ${(err as Error).message.split('\n')[0]}`;
  }
  notes.push(`preferredOutputLocation 'gpu-buffer' on ${provider.active}: ${gpuBuffer}`);
  return { rows, notes, extra: { provider, gpuBuffer } };
}
