// A/B timing of two exports' prompt decoders with onnxruntime-node (the product's runtime) on one GPU:
// decoder.onnx at one prompt (SPS) and decoder_batched.onnx at 32 prompts (MPS), runs interleaved A, B, A, B
// so that drift on a shared host lands on both. Used to decide exporter variants whose effect is smaller
// than run-to-run spread between pipeline runs (docs/gpu.md, run 11).
//   node native-models/reference/ab_time.mjs <folderA> <folderB> [runs] [provider]
import path from 'node:path';
import ort from 'onnxruntime-node';

const [dirA, dirB, runsArg, provider = 'cuda'] = process.argv.slice(2);
if (!dirA || !dirB) {
  console.error('usage: ab_time.mjs <folderA> <folderB> [runs] [provider]');
  process.exit(2);
}
const runs = Number(runsArg ?? 50);

function rand(n, scale = 1) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.random() * 2 - 1) * scale;
  return a;
}

function feeds(b, single) {
  const f = {
    image_embeddings: new ort.Tensor('float32', rand(256 * 64 * 64), [1, 256, 64, 64]),
    point_coords: new ort.Tensor(
      'float32',
      rand(b * 2 * 2, 512).map((x) => x + 512),
      [b, 2, 2],
    ),
    point_labels: new ort.Tensor(
      'float32',
      new Float32Array(b * 2).map((_, i) => (i % 2 ? -1 : 1)),
      [b, 2],
    ),
    mask_input: new ort.Tensor('float32', new Float32Array(256 * 256), [1, 1, 256, 256]),
    has_mask_input: new ort.Tensor('float32', new Float32Array(1), [1]),
  };
  if (single) f.orig_im_size = new ort.Tensor('float32', new Float32Array([768, 1024]), [2]);
  return f;
}

const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = {};
for (const [file, b] of [
  ['decoder.onnx', 1],
  ['decoder_batched.onnx', 32],
]) {
  const opts = { executionProviders: [provider], graphOptimizationLevel: 'all' };
  const sessions = [
    await ort.InferenceSession.create(path.join(dirA, file), opts),
    await ort.InferenceSession.create(path.join(dirB, file), opts),
  ];
  const f = feeds(b, file === 'decoder.onnx');
  for (const s of sessions) for (let i = 0; i < 5; i++) await s.run(f);
  const ts = [[], []];
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < 2; k++) {
      const t = performance.now();
      await sessions[k].run(f);
      ts[k].push(performance.now() - t);
    }
  }
  result[`${file} B=${b}`] = { A_p50_ms: +p50(ts[0]).toFixed(3), B_p50_ms: +p50(ts[1]).toFixed(3) };
}
console.log(JSON.stringify({ A: dirA, B: dirB, runs, provider, result }, null, 1));
