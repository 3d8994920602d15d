// Several exports of one image encoder timed side by side on the GPU, for encoder_variants.py. Interleaved
// rounds (each round runs every model once, in turn) so host drift lands on all of them alike, two ways each:
//   node      onnxruntime-node 1.29, host input and host outputs
//   graphDev  ortx with the session captured as a CUDA graph, outputs left on the device (how the engine's
//             graph runtime runs its encoder; its input comes from the preprocessing graph there, here from
//             the host, the same 12 MB upload for every model)
// The input comes as <dir>/feeds.json (one image, ort_time.mjs's format); model i's outputs (from
// onnxruntime-node) go back as out<i>_<name>.bin, described in result.json, for the caller to compare.
//   node native-models/reference/encoder_ab.mjs <dir> <runs> <model.onnx>... [--dist .gpu-dist]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';
import { quantile, readFeeds, takeOption, writeOutputs } from './ab_common.mjs';

const args = process.argv.slice(2);
const dist = path.resolve(takeOption(args, '--dist', '.gpu-dist'));
const provider = takeOption(args, '--provider', 'cuda');
const [dir, runsArg, ...models] = args;
if (!dir || !models.length) {
  console.error('usage: encoder_ab.mjs <dir> <runs> <model.onnx>... [--dist .gpu-dist]');
  process.exit(2);
}
const runs = Number(runsArg);
const { loadOrtx, ortxUnavailableReason } = await import(
  pathToFileURL(path.join(dist, 'main/engine/ortx.js')).href
);
const { ortLibraryPath } = await import(pathToFileURL(path.join(dist, 'main/engine/providers.js')).href);
const ortx = loadOrtx(ortLibraryPath() ?? '');
const [host] = Object.values(readFeeds(dir));

const rows = [];
for (const [i, file] of models.entries()) {
  const row = { file, ways: {}, first: {}, errors: {} };
  const t0 = performance.now();
  const node = await ort.InferenceSession.create(file, {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
  });
  row.loadMs = +(performance.now() - t0).toFixed(0);
  const inName = node.inputNames[0];
  const nodeFeeds = { [inName]: new ort.Tensor(host.type, host.data, host.dims) };
  let t = performance.now();
  const out = await node.run(nodeFeeds);
  row.first.node = +(performance.now() - t).toFixed(1);
  row.outputs = writeOutputs(dir, `out${i}_`, Object.fromEntries(node.outputNames.map((n) => [n, out[n]])));
  row.ways.node = () => node.run(nodeFeeds);
  if (ortx) {
    try {
      const s = await ortx.createSession(file, {
        provider,
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        cuda: { enableCudaGraph: provider === 'cuda' },
        emulateCudaGraphOnCpu: provider === 'cpu',
      });
      const fetches = s.outputs.map((o) => ({ name: o.name, device: true }));
      const graphDev = async () => {
        const o = await s.run({ [inName]: host }, fetches, { graphId: 0 });
        for (const x of Object.values(o)) x.release();
      };
      t = performance.now();
      await graphDev();
      row.first.graphDev = +(performance.now() - t).toFixed(1);
      row.ways.graphDev = graphDev;
    } catch (err) {
      row.errors.graphDev = String(err.message ?? err).split('\n')[0];
    }
  } else {
    row.errors.graphDev = `ortx unavailable: ${ortxUnavailableReason()}`;
  }
  for (const f of Object.values(row.ways)) for (let k = 0; k < 3; k++) await f();
  row.ts = Object.fromEntries(Object.keys(row.ways).map((k) => [k, []]));
  rows.push(row);
}
for (let r = 0; r < runs; r++) {
  for (let j = 0; j < rows.length; j++) {
    const row = rows[(r + j) % rows.length];
    for (const [k, f] of Object.entries(row.ways)) {
      const t = performance.now();
      await f();
      row.ts[k].push(performance.now() - t);
    }
  }
}
const result = rows.map((r) => ({
  file: r.file,
  loadMs: r.loadMs,
  firstMs: r.first,
  p50: Object.fromEntries(Object.entries(r.ts).map(([k, v]) => [k, +quantile(v, 0.5).toFixed(3)])),
  p10: Object.fromEntries(Object.entries(r.ts).map(([k, v]) => [k, +quantile(v, 0.1).toFixed(3)])),
  errors: r.errors,
  outputs: r.outputs,
}));
writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result, null, 2));
for (const r of result) console.log(JSON.stringify(r));
