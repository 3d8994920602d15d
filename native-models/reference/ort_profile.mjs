// Where onnxruntime's time goes in an exported model folder: per-node durations from onnxruntime's own
// profiler (onnxruntime-node, the product's runtime), grouped by operator type, for the encoder, the
// one-prompt decoder, the batched decoder and decoder_amg.onnx (none / all prompts surviving its filter).
//
//   CUDA_LAUNCH_BLOCKING=1 node native-models/reference/ort_profile.mjs <model-dir> <out.json> \
//     [--batch 1024] [--runs 5] [--provider cuda]
//
// Why CUDA_LAUNCH_BLOCKING: the CUDA provider only enqueues kernels, so without it a node's profiled
// duration is its launch cost, not its GPU time. With every launch synchronous the per-node durations add up
// to the GPU time plus a few µs of launch per kernel; the whole-run times are therefore above the bench's
// (its timings are the product's), and the split by operator is what this tool is for. On the CPU provider
// the durations are exact, which is how CI-free local runs check the script.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';

const args = process.argv.slice(2);
const positional = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const [modelDir, outFile] = positional;
if (!modelDir || !outFile) {
  console.error('usage: ort_profile.mjs <model-dir> <out.json> [--batch 1024] [--runs 5] [--provider cuda]');
  process.exit(2);
}
const batch = Number(opt('batch', 1024));
const runs = Number(opt('runs', 5));
const provider = opt('provider', 'cuda');
const manifest = JSON.parse(readFileSync(path.join(modelDir, 'manifest.json'), 'utf8'));
const highRes = manifest.highResFeatures ?? [];

/** Deterministic values in [-1, 1): the same feeds on every run and machine. */
function lcg(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
const f32 = (data, dims) => new ort.Tensor('float32', data, dims);

function promptFeeds(b, extra) {
  const coords = new Float32Array(b * 4);
  const labels = new Float32Array(b * 2);
  const r = lcg(b * 2, 7);
  for (let i = 0; i < b; i++) {
    coords[i * 4] = (r[i * 2] + 1) * 512;
    coords[i * 4 + 1] = (r[i * 2 + 1] + 1) * 512;
    labels[i * 2] = 1;
    labels[i * 2 + 1] = -1; // SAM's padding point
  }
  return {
    ...extra,
    point_coords: f32(coords, [b, 2, 2]),
    point_labels: f32(labels, [b, 2]),
    mask_input: f32(new Float32Array(256 * 256), [1, 1, 256, 256]),
    has_mask_input: f32(new Float32Array(1), [1]),
  };
}

/** Runs `file` `runs` times after two warm-up runs with onnxruntime's profiler on; returns the split. */
async function profile(label, file, feeds) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ort-profile-'));
  const sess = await ort.InferenceSession.create(path.join(modelDir, file), {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: path.join(dir, 'p'),
  });
  const wanted = Object.fromEntries(sess.inputNames.map((n) => [n, feeds[n]]));
  const missing = sess.inputNames.filter((n) => !feeds[n]);
  if (missing.length) throw new Error(`${file}: no feed for ${missing.join(', ')}`);
  let out;
  for (let i = 0; i < runs + 2; i++) out = await sess.run(wanted);
  sess.endProfiling();
  const json = readdirSync(dir).find((f) => f.endsWith('.json'));
  if (!json) throw new Error(`${file}: onnxruntime wrote no profile`);
  const events = JSON.parse(readFileSync(path.join(dir, json), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  await sess.release();
  // The last `runs` model_run windows; node events inside them are the measured runs.
  const windows = events
    .filter((e) => e.cat === 'Session' && e.name === 'model_run')
    .sort((a, b) => a.ts - b.ts)
    .slice(-runs);
  const inRun = (e) => windows.some((w) => e.ts >= w.ts && e.ts <= w.ts + w.dur);
  const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && inRun(e));
  const byOp = new Map();
  const byNode = new Map();
  for (const e of nodes) {
    const op = e.args?.op_name ?? '?';
    const o = byOp.get(op) ?? { op, ms: 0, count: 0 };
    o.ms += e.dur / 1000 / runs;
    o.count += 1 / runs;
    byOp.set(op, o);
    const name = e.name.replace(/_kernel_time$/, '');
    const n = byNode.get(name) ?? { node: name, op, ms: 0, provider: e.args?.provider };
    n.ms += e.dur / 1000 / runs;
    byNode.set(name, n);
  }
  const nodeMs = [...byOp.values()].reduce((s, o) => s + o.ms, 0);
  const runMs = windows.map((w) => w.dur / 1000).sort((a, b) => a - b);
  const r2 = (x) => Math.round(x * 1000) / 1000;
  const result = {
    label,
    file,
    run_ms_p50: r2(runMs[Math.floor(runMs.length / 2)]),
    node_ms_per_run: r2(nodeMs),
    nodes_per_run: Math.round(nodes.length / runs),
    by_op: [...byOp.values()]
      .sort((a, b) => b.ms - a.ms)
      .map((o) => ({ op: o.op, ms: r2(o.ms), count: Math.round(o.count), share: r2(o.ms / nodeMs) })),
    top_nodes: [...byNode.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 15)
      .map((n) => ({ ...n, ms: r2(n.ms) })),
  };
  const ops = result.by_op
    .slice(0, 8)
    .map((o) => `${o.op} ${o.ms.toFixed(2)} (${Math.round(o.share * 100)}%, ×${o.count})`)
    .join(', ');
  console.log(
    `${label}: run p50 ${result.run_ms_p50} ms, nodes ${result.node_ms_per_run} ms in ${result.nodes_per_run} nodes: ${ops}`,
  );
  return { result, out };
}

const graphs = [];
const files = manifest.files;
const enc = await profile('encoder', files.encoder, {
  image: f32(
    lcg(3 * 1024 * 1024, 1).map((v) => v * 2),
    [1, 3, 1024, 1024],
  ),
});
graphs.push(enc.result);
const image = { image_embeddings: enc.out.image_embeddings };
for (const h of highRes) image[h.name] = enc.out[h.name];
graphs.push(
  (
    await profile('decoder, 1 prompt (SPS)', files.decoder, {
      ...promptFeeds(1, image),
      orig_im_size: f32(new Float32Array([540, 960]), [2]),
    })
  ).result,
);
if (files.decoderBatched) {
  for (const b of [32, batch]) {
    const label = `decoder_batched, ${b} prompts`;
    graphs.push((await profile(label, files.decoderBatched, promptFeeds(b, image))).result);
  }
}
if (files.decoderAmg) {
  for (const [who, t] of [
    ['none', 1e9],
    ['all', -1e9],
  ]) {
    const feeds = { ...promptFeeds(batch, image), iou_threshold: f32(new Float32Array([t]), [1]) };
    graphs.push(
      (await profile(`decoder_amg, ${batch} prompts, ${who} survive`, files.decoderAmg, feeds)).result,
    );
  }
}
writeFileSync(
  outFile,
  JSON.stringify(
    {
      model: manifest.id,
      provider,
      launchBlocking: process.env.CUDA_LAUNCH_BLOCKING === '1',
      runs,
      onnxruntime: ort.env.versions?.common ?? null,
      graphs,
    },
    null,
    1,
  ),
);
