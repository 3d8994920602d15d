// Engine speed on the 8 shapes scenes: SPS (decode + preprocess + encode + one click + RLE, nothing cached)
// and the latency of a click once the embedding is cached (decoder + postprocess + RLE + worker round trip).
import os from 'node:os';
import { fixtureModelDir, fixtureShapesDir, SamEngine, type MaskResult } from '../main/engine/index.js';
import {
  instanceMask,
  interiorPoint,
  loadGroundTruth,
  scenePaths,
  SHAPES_SCENES,
} from '../main/engine/testing.js';
import { percentile, type BenchOptions, type SuiteResult } from './types.js';

const r1 = (v: number): number => Math.round(v * 10) / 10;

export async function run(opts: BenchOptions): Promise<SuiteResult> {
  const spsRuns = opts.quick ? 1 : 3;
  const clicks = opts.quick ? 3 : 10;
  // memoryCacheBytes 0 and no disk cache: every SPS call decodes and encodes from scratch.
  const cold = await SamEngine.create({
    modelDir: fixtureModelDir(),
    provider: opts.provider,
    cacheDir: false,
    memoryCacheBytes: 0,
  });
  const warm = await SamEngine.create({
    modelDir: fixtureModelDir(),
    provider: opts.provider,
    cacheDir: false,
  });
  const provider = cold.providerInfo();
  const upscale = cold.describe().upscale;
  if (opts.provider === 'cuda' && provider.active !== 'cuda') {
    await Promise.all([cold.close(), warm.close()]);
    throw new Error(`--provider cuda asked for, but the engine runs on CPU: ${provider.fallbackReason}`);
  }
  const rows: SuiteResult['rows'] = [];
  const allSps: number[] = [];
  const allClicks: number[] = [];
  const stages: MaskResult['timings'][] = [];
  try {
    for (const scene of SHAPES_SCENES) {
      const p = scenePaths(fixtureShapesDir(), scene);
      const gt = await loadGroundTruth(p.ids);
      const c = interiorPoint(instanceMask(gt, gt.instances[0]!), gt.width, gt.height);
      const click = { points: [{ x: c.x, y: c.y, label: 1 as const }] };
      // Warm-up (JIT, onnxruntime first-run allocations), not measured.
      await cold.segment(p.image, click);
      const sps: number[] = [];
      let last: MaskResult | undefined;
      for (let i = 0; i < spsRuns; i++) {
        const t0 = performance.now();
        last = await cold.segment(p.image, click);
        sps.push(performance.now() - t0);
        if (last.cached !== false) throw new Error('SPS run hit a cache');
        stages.push(last.timings);
      }
      const { key } = await warm.embed(p.image);
      await warm.segment(key, click);
      const lat: number[] = [];
      for (let i = 0; i < clicks; i++) {
        const t0 = performance.now();
        await warm.segment(key, click);
        lat.push(performance.now() - t0);
      }
      allSps.push(...sps);
      allClicks.push(...lat);
      const t = last!.timings;
      rows.push({
        image: scene,
        size: `${gt.width}×${gt.height}`,
        sps_p50_ms: r1(percentile(sps, 50)),
        decode_ms: r1(t.read + t.decode),
        preprocess_ms: r1(t.preprocess),
        encoder_ms: r1(t.encoder),
        decoder_ms: r1(t.decoder),
        post_rle_ms: r1(t.postprocess + t.rle),
        click_p50_ms: r1(percentile(lat, 50)),
        click_p90_ms: r1(percentile(lat, 90)),
      });
    }
  } finally {
    await Promise.all([cold.close(), warm.close()]);
  }
  const mean = (k: keyof MaskResult['timings']): number =>
    r1(stages.reduce((a, s) => a + s[k], 0) / stages.length);
  rows.push({
    image: 'ALL',
    size: `p90 SPS ${r1(percentile(allSps, 90))} ms`,
    sps_p50_ms: r1(percentile(allSps, 50)),
    decode_ms: r1(mean('read') + mean('decode')),
    preprocess_ms: mean('preprocess'),
    encoder_ms: mean('encoder'),
    decoder_ms: mean('decoder'),
    post_rle_ms: r1(mean('postprocess') + mean('rle')),
    click_p50_ms: r1(percentile(allClicks, 50)),
    click_p90_ms: r1(percentile(allClicks, 90)),
  });
  return {
    rows,
    notes: [
      `provider ${provider.active}${provider.fallbackReason ? ` (${provider.fallbackReason})` : ''}; ${os.cpus().length} CPU cores, load average ${os.loadavg()[0]!.toFixed(1)}`,
      `SPS = wall time of segment(path, one click) with no embedding cache (${spsRuns} run(s) per image); stage columns are the last run's`,
      `click = wall time of segment(key, same click) with the embedding cached (${clicks} per image)`,
      `masks upscaled by ${upscale.via === 'native' ? `the native post-processing (${upscale.threads} threads)` : `TypeScript (${upscale.reason})`}`,
    ],
    extra: {
      provider,
      upscale,
      sps: { p50: percentile(allSps, 50), p90: percentile(allSps, 90), samples: allSps.length },
      click: { p50: percentile(allClicks, 50), p90: percentile(allClicks, 90), samples: allClicks.length },
      loadAverage: os.loadavg(),
    },
  };
}
