// Times one ONNX file with onnxruntime-node (the product's runtime) for ort_variants.py, whose Python
// onnxruntime on the GPU host has no CUDA provider. Feeds come as raw little-endian files described by
// <dir>/feeds.json ([{name, dtype, shape, file}]); outputs go back the same way to <dir>/outputs.json.
//   node native-models/reference/ort_time.mjs <model.onnx> <dir> <runs> [provider]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { readFeeds, writeOutputs } from './ab_common.mjs';

const [model, dir, runsArg, provider = 'cuda'] = process.argv.slice(2);
if (!model || !dir) {
  console.error('usage: ort_time.mjs <model.onnx> <dir> <runs> [provider]');
  process.exit(2);
}
const runs = Number(runsArg ?? 10);
const feeds = Object.fromEntries(
  Object.entries(readFeeds(dir)).map(([k, t]) => [k, new ort.Tensor(t.type, t.data, t.dims)]),
);
const t0 = performance.now();
const sess = await ort.InferenceSession.create(model, {
  executionProviders: [provider],
  graphOptimizationLevel: 'all',
});
const loadMs = performance.now() - t0;
let out = await sess.run(feeds);
const firstMs = performance.now() - t0 - loadMs;
await sess.run(feeds);
const ts = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  out = await sess.run(feeds);
  ts.push(performance.now() - t);
}
ts.sort((a, b) => a - b);
const outputs = writeOutputs(dir, 'out_', Object.fromEntries(sess.outputNames.map((n) => [n, out[n]])));
writeFileSync(
  path.join(dir, 'outputs.json'),
  JSON.stringify({ loadMs, firstMs, p50Ms: ts[Math.floor(ts.length / 2)], minMs: ts[0], outputs }),
);
