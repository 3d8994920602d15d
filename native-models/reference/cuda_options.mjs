// CUDA provider options, chosen by measurement (issue "GPU speed"): one exported model folder's encoder and
// batched decoder (1 and 32 prompts) run under several named option sets through ortx, interleaved so host
// drift lands on every set, the way the engine's graph runtime (main/engine/graphrun.ts) feeds them: the
// encoder input comes from the preprocessing graph on the device, the decoder reads embeddings left on the
// device, outputs stay there. Per set: session creation, first run (cuDNN's algorithm search and tuning land
// there), p50/p90 of the later runs and the largest difference from the first set's outputs.
//   node native-models/reference/cuda_options.mjs <modelDir> <out.json> [--dist .gpu-dist] [--runs 30]
//        [--sets '{"name": {cuda options}, ...}' | --sets file.json] [--provider cuda|cpu]
// Without --sets: onnxruntime's defaults (cuDNN's exhaustive conv algorithm search, power-of-two arena growth),
// the graph runtime's defaults, and on top of those: the attention kernel onnxruntime is told to use
// (sdpa_kernel: 2 memory-efficient, 8 cuDNN flash; 1 would be flash only), NHWC convolutions, TunableOp.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { decoderFeeds, maxAbs, quantile, takeOption } from './ab_common.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => takeOption(args, name, dflt);
const dist = path.resolve(opt('--dist', '.gpu-dist'));
const runs = Number(opt('--runs', '30'));
const provider = opt('--provider', 'cuda');
const setsArg = opt('--sets', '');
const [dir, outFile] = args;
if (!dir || !outFile || !(runs >= 1)) {
  console.error(
    'usage: cuda_options.mjs <modelDir> <out.json> [--dist .gpu-dist] [--runs 30] [--sets json|file]',
  );
  process.exit(2);
}

// Each set is complete (the engine's graph runtime merges a set over its own defaults, graphrun.ts), so what
// is measured here is what the engine runs with the set.
const ENGINE = { cudnnConvAlgoSearch: 'HEURISTIC', arenaExtendStrategy: 'kSameAsRequested' };
const DEFAULT_SETS = {
  'ort-default': { cudnnConvAlgoSearch: 'EXHAUSTIVE', arenaExtendStrategy: 'kNextPowerOfTwo' },
  engine: ENGINE,
  'sdpa-efficient': { ...ENGINE, extra: { sdpa_kernel: 2 } },
  'sdpa-cudnn': { ...ENGINE, extra: { sdpa_kernel: 8 } },
  nhwc: { ...ENGINE, extra: { prefer_nhwc: 1 } },
  tunable: { ...ENGINE, extra: { tunable_op_enable: 1, tunable_op_tuning_enable: 1 } },
};
const sets = setsArg
  ? JSON.parse(existsSync(setsArg) ? readFileSync(setsArg, 'utf8') : setsArg)
  : DEFAULT_SETS;

const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { loadOrtx, ortxUnavailableReason } = await imp('main/engine/ortx.js');
const { ortLibraryPath } = await imp('main/engine/providers.js');
const { preprocessModel, PRE, MIN_OPSET } = await imp('main/engine/graphs.js');
const ortx = loadOrtx(ortLibraryPath() ?? '');
if (!ortx) throw new Error(`ortx unavailable: ${ortxUnavailableReason()}`);
const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const S = manifest.inputSize ?? 1024;
const norm = manifest.normalization ?? { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] };

const open = (file, cuda) =>
  ortx.createSession(file, {
    provider,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(provider === 'cuda' ? { cuda } : {}),
  });
const releaseAll = (out) => Object.values(out).forEach((t) => t.release());

/** One graph under every set: sessions, first runs, interleaved timing, outputs against the first set. */
async function measure(label, file, feeds, fetchNames) {
  const sessions = {};
  const result = { label, sets: {} };
  for (const [name, cuda] of Object.entries(sets)) {
    const t = performance.now();
    try {
      sessions[name] = await open(file, cuda);
      result.sets[name] = { createMs: +(performance.now() - t).toFixed(1) };
    } catch (err) {
      result.sets[name] = { error: err.message.split('\n')[0] };
    }
  }
  const fetchDev = fetchNames.map((name) => ({ name, device: true }));
  const outs = {};
  for (const [name, s] of Object.entries(sessions)) {
    const t = performance.now();
    try {
      const out = await s.run(feeds, fetchDev);
      result.sets[name].firstMs = +(performance.now() - t).toFixed(2);
      outs[name] = {};
      for (const [k, v] of Object.entries(out)) {
        outs[name][k] = (await v.download()).data;
        v.release();
      }
    } catch (err) {
      result.sets[name].error = `run: ${err.message.split('\n')[0]}`;
      s.release();
      delete sessions[name];
    }
  }
  const names = Object.keys(sessions);
  if (names.length === 0) {
    console.log(`${label}: every set failed`);
    return { ...result, best: null };
  }
  for (const n of names) for (let i = 0; i < 3; i++) releaseAll(await sessions[n].run(feeds, fetchDev));
  const ts = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) {
    for (const n of names) {
      const t = performance.now();
      const out = await sessions[n].run(feeds, fetchDev);
      // A run's promise settles when its outputs exist on the device (onnxruntime syncs the stream at the end
      // of Run), so this is the graph's time, not its launch.
      ts[n].push(performance.now() - t);
      releaseAll(out);
    }
  }
  const base = names[0];
  for (const n of names) {
    const r = result.sets[n];
    r.p50 = +quantile(ts[n], 0.5).toFixed(3);
    r.p90 = +quantile(ts[n], 0.9).toFixed(3);
    r.maxAbsVsFirst = Math.max(...fetchNames.map((k) => maxAbs(outs[base][k], outs[n][k])));
  }
  for (const s of Object.values(sessions)) s.release();
  const best = names.reduce((a, b) => (result.sets[b].p50 < result.sets[a].p50 ? b : a), base);
  result.best = best;
  console.log(
    `${label}: ` +
      Object.entries(result.sets)
        .map(([n, r]) => (r.error ? `${n} ERROR ${r.error}` : `${n} ${r.p50}`))
        .join(' | ') +
      ` → best ${best}`,
  );
  return result;
}

const results = { model: dir, provider, runs, ortx: ortx.version, sets, graphs: [] };
// The encoder's input as the engine makes it: preprocessing on the device from 8-bit RGB.
const pre = await open(preprocessModel(S, norm.mean, norm.std, MIN_OPSET), {});
const H = Math.round((S * 3) / 4);
let seed = 12345;
const rgb = Uint8Array.from({ length: H * S * 3 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
const image = (
  await pre.run(
    {
      [PRE.rgb]: { type: 'uint8', dims: [H, S, 3], data: rgb },
      [PRE.sizes]: { type: 'int64', dims: [2], data: BigInt64Array.of(BigInt(H), BigInt(S)) },
    },
    [{ name: PRE.image, device: true }],
  )
)[PRE.image];
const encFile = path.join(dir, manifest.files.encoder);
const probe = await open(encFile, {});
const encIn = probe.inputs[0].name;
const encOutNames = probe.outputs.map((o) => o.name);
results.graphs.push(await measure('encoder', encFile, { [encIn]: image }, encOutNames));
// Embeddings (and SAM 2's high-resolution features) left on the device for the decoders.
const embNames = ['image_embeddings', ...(manifest.highResFeatures ?? []).map((x) => x.name)];
const emb = await probe.run(
  { [encIn]: image },
  embNames.map((name) => ({ name, device: true })),
);
probe.release();
image.release();
pre.release();

const decFile = path.join(dir, manifest.files.decoderBatched ?? 'decoder_batched.onnx');
for (const b of [1, 32]) {
  const feeds = decoderFeeds(emb, b);
  results.graphs.push(
    await measure(`decoder_batched b${b}`, decFile, feeds, ['low_res_masks', 'iou_predictions']),
  );
}
releaseAll(emb);
writeFileSync(outFile, JSON.stringify(results, null, 2));
