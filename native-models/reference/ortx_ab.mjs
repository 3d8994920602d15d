// onnxruntime-node against ortx (main/engine/ortx) on one exported model folder, on the GPU: the encoder and
// the batched decoder at 1 and 32 prompts, each run three ways, interleaved so host drift lands on all:
//   node   onnxruntime-node 1.29 (only deviceId reaches the CUDA provider)
//   ortx   the same library through ortx, CUDA provider options set, no graph
//   graph  ortx with the session captured once as a CUDA graph and replayed
//   ortxDev / graphDev  the same two with outputs left on the device (how the engine's graph runtime runs)
// Every way gets host inputs and returns host outputs (what the engine pays per call), and each output is
// compared with onnxruntime-node's (max abs difference). Writes JSON, prints a line per graph.
//   node native-models/reference/ortx_ab.mjs <modelDir> <out.json> [--dist .gpu-dist] [--runs 50] [--provider cuda]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';
import { decoderFeeds, maxAbs, quantile, takeOption } from './ab_common.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => takeOption(args, name, dflt);
const dist = path.resolve(opt('--dist', '.gpu-dist'));
const runs = Number(opt('--runs', '50'));
// --provider cpu: the same comparison on the CPU (graphs emulated by ortx's slot bookkeeping), to check the tool.
const provider = opt('--provider', 'cuda');
const [dir, outFile] = args;
if (!dir || !outFile) {
  console.error('usage: ortx_ab.mjs <modelDir> <out.json> [--dist .gpu-dist] [--runs 50]');
  process.exit(2);
}
const { loadOrtx, ortxUnavailableReason } = await import(
  pathToFileURL(path.join(dist, 'main/engine/ortx.js')).href
);
const { fixedDimensions } = await import(pathToFileURL(path.join(dist, 'main/engine/graphrun.js')).href);
const { ortLibraryPath } = await import(pathToFileURL(path.join(dist, 'main/engine/providers.js')).href);
const ortx = loadOrtx(ortLibraryPath() ?? '');
if (!ortx) throw new Error(`ortx unavailable: ${ortxUnavailableReason()}`);
const cuda = JSON.parse(process.env.MASKROOM_ORTX_CUDA ?? '{}');
const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const S = manifest.inputSize ?? 1024;

let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const rand = (n, scale = 1) => Float32Array.from({ length: n }, () => rnd() * scale);
const p50 = (xs) => quantile(xs, 0.5);

async function three(file, feeds = null) {
  const p = path.join(dir, file);
  const node = await ort.InferenceSession.create(p, {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
  });
  const base = { provider, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  const plain = await ortx.createSession(p, { ...base, cuda: { ...cuda, enableCudaGraph: false } });
  let graph = null;
  let graphError = null;
  try {
    // As the engine does (graphrun.ts): the symbolic dimensions fixed to the feeds' sizes, so shape
    // arithmetic folds to constants instead of running on the CPU.
    const shapes = Object.fromEntries(Object.entries(feeds ?? {}).map(([k, t]) => [k, t.dims]));
    const dims = fixedDimensions(plain.inputs, shapes);
    if (!dims) throw new Error('a symbolic dimension takes two sizes in these feeds: no fixed-shape graph');
    graph = await ortx.createSession(p, {
      ...base,
      cuda: { ...cuda, enableCudaGraph: true },
      emulateCudaGraphOnCpu: provider === 'cpu',
      freeDimensionOverrides: dims,
    });
  } catch (err) {
    graphError = err.message.split('\n')[0];
  }
  return { node, plain, graph, graphError };
}

/** Times the ways on the same feeds, interleaved; checks each output against onnxruntime-node's. */
async function measure(label, s, feedsHost, graphId) {
  const nodeFeeds = Object.fromEntries(
    Object.entries(feedsHost).map(([k, t]) => [k, new ort.Tensor(t.type, t.data, t.dims)]),
  );
  const names = s.node.outputNames;
  const fetches = names.map((name) => ({ name }));
  const ways = {
    node: () => s.node.run(nodeFeeds),
    ortx: () => s.plain.run(feedsHost, fetches),
  };
  let graphError = s.graphError;
  if (s.graph) ways.graph = () => s.graph.run(feedsHost, fetches, { graphId });
  // As the engine uses them: outputs left on the device (the next session reads them there), released.
  const onDevice = names.map((name) => ({ name, device: true }));
  const drop = (out) => Object.values(out).forEach((t) => t.release());
  ways.ortxDev = async () => drop(await s.plain.run(feedsHost, onDevice));
  if (s.graph) ways.graphDev = async () => drop(await s.graph.run(feedsHost, onDevice, { graphId }));
  const first = {};
  const outs = {};
  for (const [k, f] of Object.entries(ways)) {
    const t = performance.now();
    try {
      outs[k] = await f();
      first[k] = +(performance.now() - t).toFixed(2);
    } catch (err) {
      graphError = `${k}: ${err.message.split('\n')[0]}`;
      delete ways[k];
    }
  }
  for (const f of Object.values(ways)) for (let i = 0; i < 5; i++) await f();
  const ts = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [k, f] of Object.entries(ways)) {
      const t = performance.now();
      await f();
      ts[k].push(performance.now() - t);
    }
  }
  const diff = {};
  for (const k of Object.keys(outs)) {
    if (k === 'node' || k.endsWith('Dev')) continue;
    diff[k] = Math.max(...names.map((n) => maxAbs(outs.node[n].data, outs[k][n].data)));
  }
  const r = {
    label,
    p50: Object.fromEntries(Object.entries(ts).map(([k, v]) => [k, +p50(v).toFixed(3)])),
    firstMs: first,
    maxAbsVsNode: diff,
    graphError,
  };
  console.log(JSON.stringify(r));
  return r;
}

const results = { model: dir, cudaOptions: cuda, runs, ortx: ortx.version, graphs: [] };
const enc = await three(manifest.files.encoder);
const encIn = enc.node.inputNames[0];
const image = { type: 'float32', dims: [1, 3, S, S], data: rand(3 * S * S, 2) };
results.graphs.push(await measure('encoder', enc, { [encIn]: image }, 0));
const encOut = await enc.node.run({ [encIn]: new ort.Tensor('float32', image.data, image.dims) });
for (const s of [enc.plain, enc.graph]) s?.release();
await enc.node.release();

const emb = {
  image_embeddings: {
    type: 'float32',
    dims: [...encOut.image_embeddings.dims],
    data: encOut.image_embeddings.data,
  },
};
for (const x of manifest.highResFeatures ?? []) {
  emb[x.name] = { type: 'float32', dims: [...encOut[x.name].dims], data: encOut[x.name].data };
}
for (const b of [1, 32]) {
  const feeds = decoderFeeds(emb, b);
  const dec = await three(manifest.files.decoderBatched ?? 'decoder_batched.onnx', feeds);
  results.graphs.push(await measure(`decoder_batched b${b}`, dec, feeds, 0));
  for (const s of [dec.plain, dec.graph]) s?.release();
  await dec.node.release();
}
writeFileSync(outFile, JSON.stringify(results, null, 2));
