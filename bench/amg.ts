// Automatic mask generation speed: per-image latency (embed + decoder + filtering + upscaling + RLE, one
// `generateMasks` call, nothing cached) and images/s over the 200-frame folder ../shared/data/bedroom-200,
// plus recall on the fixture shapes scenes at the same settings. Not a timed test: figures only.
// Full run: SAM's defaults (32×32 points) on all 200 frames — a GPU host's job. `--quick` (2-core CPU):
// fewer frames and an 8×8 grid; the notes say exactly what was measured.
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bestMatchRecall, loadInstanceMasks } from '../main/engine/amg/eval.js';
import { generateMasks, type GenerateResult } from '../main/engine/amg/index.js';
import { fixtureModelDir, fixtureShapesDir, SamEngine } from '../main/engine/index.js';
import { percentile, type BenchOptions, type SuiteResult } from './types.js';

const r1 = (v: number): number => Math.round(v * 10) / 10;
const BEDROOM = path.resolve('../shared/data/bedroom-200');

function row(
  label: string,
  results: GenerateResult[],
  wallMs: number,
  pps: number,
  extra: Record<string, string | number | null> = {},
) {
  const total = results.map((r) => r.timings.total);
  const decode = results.map((r) => r.stats.decodeMs);
  const post = results.map((r) => r.stats.postMs);
  const embed = results.map((r) => r.timings.embed);
  return {
    dataset: label,
    images: results.length,
    points_per_side: pps,
    p50_ms: r1(percentile(total, 50)),
    p90_ms: r1(percentile(total, 90)),
    embed_p50_ms: r1(percentile(embed, 50)),
    decoder_p50_ms: r1(percentile(decode, 50)),
    filter_upscale_rle_p50_ms: r1(percentile(post, 50)),
    masks_per_image: r1(results.reduce((s, r) => s + r.masks.length, 0) / Math.max(1, results.length)),
    images_per_s: Math.round((results.length / (wallMs / 1000)) * 1000) / 1000,
    ...extra,
  };
}

export async function run(opts: BenchOptions): Promise<SuiteResult> {
  // MASKROOM_BENCH_AMG_POINTS / _IMAGES override the grid and the frame count, e.g. all 200 frames with an
  // 8×8 grid on a CPU machine, where SAM's 32×32 on 200 frames would take hours.
  const envInt = (name: string): number | undefined => {
    const v = Number(process.env[name]);
    return Number.isInteger(v) && v > 0 ? v : undefined;
  };
  const pps = envInt('MASKROOM_BENCH_AMG_POINTS') ?? (opts.quick ? 8 : 32);
  const nBedroom = envInt('MASKROOM_BENCH_AMG_IMAGES') ?? (opts.quick ? 4 : 200);
  const engine = await SamEngine.create({
    modelDir: fixtureModelDir(),
    provider: opts.provider,
    cacheDir: false,
  });
  const provider = engine.providerInfo();
  if (opts.provider === 'cuda' && provider.active !== 'cuda') {
    await engine.close();
    throw new Error(`--provider cuda asked for, but the engine runs on CPU: ${provider.fallbackReason}`);
  }
  const rows: SuiteResult['rows'] = [];
  const notes: string[] = [];
  const amg = { pointsPerSide: pps };
  try {
    // Warm-up (onnxruntime first-run allocations, JIT), not measured.
    await generateMasks(engine, path.join(fixtureShapesDir(), 'shapes_00.jpg'), { pointsPerSide: 2 });

    if (existsSync(BEDROOM)) {
      const files = readdirSync(BEDROOM)
        .filter((f) => /\.(jpe?g|png)$/i.test(f))
        .sort()
        .slice(0, nBedroom);
      const results: GenerateResult[] = [];
      const t0 = performance.now();
      for (const f of files) results.push(await generateMasks(engine, path.join(BEDROOM, f), amg));
      rows.push(
        row(`bedroom-200 (${results[0]?.width}×${results[0]?.height})`, results, performance.now() - t0, pps),
      );
      notes.push(
        `bedroom: ${files.length} of 200 frames, SAM defaults except pointsPerSide ${pps}; tinysam-shapes knows no photos, so its masks there are only a load test`,
      );
    } else {
      notes.push(`skipped bedroom-200: ${BEDROOM} not found`);
    }

    // Shapes scenes: the same speed figures, plus recall at IoU ≥ 0.75 with the settings the test documents.
    const shapeSettings = { pointsPerSide: 16, predIouThresh: 0.7, stabilityScoreThresh: 0.75 };
    const scenes = opts.quick ? [0, 1] : [0, 1, 2, 3, 4, 5, 6, 7];
    const results: GenerateResult[] = [];
    let hits = 0;
    let gts = 0;
    const t0 = performance.now();
    for (const n of scenes) {
      const r = await generateMasks(engine, path.join(fixtureShapesDir(), `shapes_0${n}.jpg`), shapeSettings);
      results.push(r);
      const gt = await loadInstanceMasks(path.join(fixtureShapesDir(), `shapes_0${n}.ids.png`));
      const rec = bestMatchRecall(
        r.masks.map((m) => m.segmentation),
        gt.instances.map((g) => g.rle),
        0.75,
      );
      hits += rec.best.filter((b) => b >= 0.75).length;
      gts += rec.best.length;
    }
    const wall = performance.now() - t0;
    rows.push(
      row(`shapes fixture (${scenes.length} scenes)`, results, wall, shapeSettings.pointsPerSide, {
        recall_iou75: Math.round((hits / gts) * 1000) / 1000,
      }),
    );
    notes.push(
      'shapes: 16×16 points, predIouThresh 0.7, stabilityScoreThresh 0.75: the recall test settings (docs/amg.md says why)',
    );
  } finally {
    await engine.close();
  }
  notes.push(
    `provider ${provider.active}${provider.fallbackReason ? ` (${provider.fallbackReason})` : ''}; ${os.cpus().length} CPU core(s), load average ${os.loadavg()[0]!.toFixed(1)} at the end`,
  );
  notes.push(
    'latency = one generateMasks call per image: read + decode + encoder + all decoder batches + low-res filtering + upscaling survivors + RLE; images/s = images / wall time',
  );
  return { rows, notes, extra: { provider, quick: opts.quick } };
}
