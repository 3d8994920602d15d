// The post-processing graphs (MASKROOM_ORTX_POST=graph, main/engine/postgraphs.ts) and the host
// post-processing (MASKROOM_ORTX_POST=host, main/engine/upscale.ts) against the plain post-processing session,
// through the engine on the trained fixture: the same clicks on three engines, one each way. Every graph mask
// must be identical to the plain session's; the host's (the TypeScript's arithmetic, not onnxruntime's Resize)
// must agree, mean IoU >= 0.99. Each engine's `postprocess` and decoder + postprocess times are printed (p50):
// the host's decoder stage holds the planes' download. The check a GPU run can afford in a minute, before
// benching the modes (run 19 crashed in a capture).
//   node native-models/reference/postgraph_check.mjs [--dist .gpu-dist] [--provider cuda] [--clicks 12]
// Exit status: bit 1 when a graph mask differs or the graph engine says its post-processing runs without a
// graph, bit 2 when the host's masks disagree; both when the engines are not on the provider asked for.
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
const { iou } = await import(pathToFileURL(path.join(dist, 'common/rle/index.js')).href);

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
const host = await engine('host');
const post = { plain: [], graph: [], host: [] };
const click = { plain: [], graph: [], host: [] };
const hostIou = [];
let differ = 0;
let total = 0;
try {
  for (const scene of ['shapes_00', 'shapes_01', 'shapes_02']) {
    const image = `${fixtureShapesDir()}/${scene}.jpg`;
    const first = await plain.embed(image);
    const { width, height } = first;
    const keys = {
      plain: first.key,
      graph: (await graph.embed(image)).key,
      host: (await host.embed(image)).key,
    };
    for (let i = 0; i < clicks; i++) {
      const point = { x: (((i * 97) % 89) / 89) * width, y: (((i * 53) % 83) / 83) * height, label: 1 };
      const pa = await plain.segment({ key: keys.plain }, { points: [point] });
      const pb = await graph.segment({ key: keys.graph }, { points: [point] });
      const pc = await host.segment({ key: keys.host }, { points: [point] });
      total++;
      if (pa.rle.counts !== pb.rle.counts || pa.maskIndex !== pb.maskIndex) differ++;
      hostIou.push(pa.maskIndex === pc.maskIndex ? iou(pa.rle, pc.rle) : 0);
      // The first click of a size runs the plain session while its graph session is built.
      if (i > 1) {
        for (const [k, r] of [
          ['plain', pa],
          ['graph', pb],
          ['host', pc],
        ]) {
          post[k].push(r.timings.postprocess);
          click[k].push(r.timings.decoder + r.timings.postprocess);
        }
      }
    }
  }
  const info = graph.describe();
  const why = info.fastPath.cudaGraphs;
  const p50 = (v) => quantile(v, 0.5).toFixed(2);
  const meanIou = hostIou.reduce((a, v) => a + v, 0) / hostIou.length;
  const upscale = host.describe().upscale;
  console.log(
    `postgraph_check (${provider}, active ${info.provider.active}): ${total - differ}/${total} graph masks identical; ` +
      `host masks mean IoU ${meanIou.toFixed(5)}, min ${Math.min(...hostIou).toFixed(4)} ` +
      `(${upscale.via}, ${upscale.threads} threads); ` +
      `post p50 plain ${p50(post.plain)} ms, graph ${p50(post.graph)} ms, host ${p50(post.host)} ms; ` +
      `decoder + post p50 plain ${p50(click.plain)} ms, graph ${p50(click.graph)} ms, host ${p50(click.host)} ms; ` +
      `graph engine cudaGraphs: ${JSON.stringify(why)}`,
  );
  // On CUDA the engines must really be on CUDA (a fallback to the CPU would pass without testing a graph), and
  // no post-processing graph may have been refused; other graphs' reasons (the fixture's own) are printed only.
  const offCuda = provider === 'cuda' && info.provider.active !== 'cuda';
  if (offCuda) console.log('postgraph_check: asked for CUDA, running on the CPU: nothing was tested');
  // Each engine must post-process where it was asked to (a graph runtime that failed to build would leave
  // the fast path's decoder session doing it, and the figures would be that session's).
  const where = [graph, host].map((e) => e.describe().fastPath.postprocess);
  if (where[0] !== 'graphs' || where[1] !== 'host')
    console.log(`postgraph_check: post-processing ran in ${where.join(' and ')}, not graphs and host`);
  const graphFails = differ > 0 || offCuda || why?.includes('post-processing') || where[0] !== 'graphs';
  const hostFails = !(meanIou >= 0.99) || offCuda || where[1] !== 'host';
  process.exitCode = (graphFails ? 1 : 0) | (hostFails ? 2 : 0);
} finally {
  await plain.close();
  await graph.close();
  await host.close();
}
