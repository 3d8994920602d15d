// The post-processing graphs (MASKROOM_ORTX_POST=graph, main/engine/postgraphs.ts) against the plain
// post-processing session, through the engine on the trained fixture: the same clicks on two engines, one
// each way; every mask must be identical, and each engine's `postprocess` time is printed (p50). The check a
// GPU run can afford in a minute, before benching the mode (run 19 crashed in its capture).
//   node native-models/reference/postgraph_check.mjs [--dist .gpu-dist] [--provider cuda] [--clicks 12]
// Exit 1 when a mask differs or the graph engine says its post-processing runs without a graph.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { quantile, takeOption } from './ab_common.mjs';

const args = process.argv.slice(2);
const dist = path.resolve(takeOption(args, '--dist', '.gpu-dist'));
const provider = takeOption(args, '--provider', 'cuda');
const clicks = Number(takeOption(args, '--clicks', '12'));
const { SamEngine, fixtureModelDir, fixtureShapesDir } = await import(
  pathToFileURL(path.join(dist, 'main/engine/index.js')).href
);
const { withEnv } = await import(pathToFileURL(path.join(dist, 'main/engine/testing.js')).href);

// The worker copies the environment when it starts: the setting holds for this engine only.
const engine = (post) =>
  withEnv({ MASKROOM_ORTX_POST: post }, () =>
    SamEngine.create({
      modelDir: fixtureModelDir(),
      provider,
      cacheDir: false,
      fastPath: 'on',
      cudaGraphs: provider === 'cuda' ? 'auto' : 'on',
    }),
  );

const plain = await engine('plain');
const graph = await engine('graph');
const post = { plain: [], graph: [] };
let differ = 0;
let total = 0;
try {
  for (const scene of ['shapes_00', 'shapes_01', 'shapes_02']) {
    const image = `${fixtureShapesDir()}/${scene}.jpg`;
    const a = await plain.embed(image);
    const b = await graph.embed(image);
    for (let i = 0; i < clicks; i++) {
      const point = { x: (((i * 97) % 89) / 89) * a.width, y: (((i * 53) % 83) / 83) * a.height, label: 1 };
      const pa = await plain.segment({ key: a.key }, { points: [point] });
      const pb = await graph.segment({ key: b.key }, { points: [point] });
      total++;
      if (pa.rle.counts !== pb.rle.counts || pa.maskIndex !== pb.maskIndex) differ++;
      // The first click of a size runs the plain session while its graph session is built.
      if (i > 1) {
        post.plain.push(pa.timings.postprocess);
        post.graph.push(pb.timings.postprocess);
      }
    }
  }
  const info = graph.describe();
  const why = info.fastPath.cudaGraphs;
  const p50 = (v) => quantile(v, 0.5).toFixed(2);
  console.log(
    `postgraph_check (${provider}, active ${info.provider.active}): ${total - differ}/${total} masks identical; ` +
      `post p50 plain ${p50(post.plain)} ms, graph ${p50(post.graph)} ms; graph engine cudaGraphs: ${JSON.stringify(why)}`,
  );
  // On CUDA the engine must really be on CUDA (a fallback to the CPU would pass without testing a graph), and
  // no post-processing graph may have been refused; other graphs' reasons (the fixture's own) are printed only.
  const offCuda = provider === 'cuda' && info.provider.active !== 'cuda';
  if (offCuda) console.log('postgraph_check: asked for CUDA, running on the CPU: nothing was tested');
  if (differ > 0 || offCuda || why?.includes('post-processing')) process.exitCode = 1;
} finally {
  await plain.close();
  await graph.close();
}
