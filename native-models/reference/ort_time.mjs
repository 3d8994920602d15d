// Times one ONNX file with onnxruntime-node (the product's runtime) for ort_variants.py, whose Python
// onnxruntime on the GPU host has no CUDA provider. Feeds come as raw little-endian files described by
// <dir>/feeds.json ([{name, dtype, shape, file}]); outputs go back the same way to <dir>/outputs.json.
//   node native-models/reference/ort_time.mjs <model.onnx> <dir> <runs> [provider]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

const [model, dir, runsArg, provider = 'cuda'] = process.argv.slice(2);
if (!model || !dir) {
  console.error('usage: ort_time.mjs <model.onnx> <dir> <runs> [provider]');
  process.exit(2);
}
const runs = Number(runsArg ?? 10);
const arrays = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array };
const feeds = {};
for (const f of JSON.parse(readFileSync(path.join(dir, 'feeds.json'), 'utf8'))) {
  const buf = readFileSync(path.join(dir, f.file));
  const Arr = arrays[f.dtype];
  feeds[f.name] = new ort.Tensor(
    f.dtype,
    new Arr(buf.buffer, buf.byteOffset, buf.byteLength / Arr.BYTES_PER_ELEMENT),
    f.shape,
  );
}
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
const outputs = [];
for (const name of sess.outputNames) {
  const t = out[name];
  const file = `out_${name}.bin`;
  writeFileSync(path.join(dir, file), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  outputs.push({ name, dtype: t.type, shape: t.dims, file });
}
writeFileSync(
  path.join(dir, 'outputs.json'),
  JSON.stringify({ loadMs, firstMs, p50Ms: ts[Math.floor(ts.length / 2)], minMs: ts[0], outputs }),
);
