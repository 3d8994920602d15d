// GPU speed (issue "GPU speed"): SPS, MPS and AMG per image with onnxruntime-node on CUDA, side by side with the
// PyTorch eager fp32 reference (native-models/reference) measured on the same GPU, weights and images.
// `npm run bench -- --suite gpu --provider cuda`; inputs come from the exporter and the reference runner
// (docs/gpu.md says how to run all three on the GPU host). Environment:
//   GPU_BENCH_MODELS (.gpu-models)  exported folders <arch>, <arch>-fp16 (+ tinysam-shapes-fp16)
//   GPU_BENCH_REF (.gpu-ref)        reference outputs <arch>/summary.json and <arch>/agree/*
//   GPU_BENCH_IMAGES (.gpu-data/images), GPU_BENCH_ARCHS (sam_vit_b,sam_vit_h,sam2.1_hiera_large)
//   GPU_BENCH_DOCS (docs/benchmarks) where the markdown table + JSON named after the device go
//   GPU_BENCH_AMG_BATCH (256)       prompts per decoder call on the fast path
//   GPU_BENCH_PATHS (ort,engine): onnxruntime direct and/or the product's SamEngine + AMG op
//   GPU_BENCH_TASKS (sps,mps,amg), GPU_BENCH_LIMIT (50; 8 with --quick), GPU_BENCH_FIXTURE (1; 0 skips it)
//   GPU_BENCH_VARIANTS (fp32,fp16): which exports of each arch to run
//   GPU_BENCH_CUDA_GRAPHS (off,auto): the engine's cudaGraphs settings, one set of engine rows each
//                                    ("engine fp16" for off, "engine fp16 cudagraph" for the others);
//                                    "auto:<name>" runs auto with CUDA provider options <name> from
//   GPU_BENCH_ORTX_CUDA              JSON (inline or a file): { "<name>": OrtxCudaOptions, ... }
//                                    (row "engine fp16 cudagraph <name>"); "auto+staged" downloads
//                                    encoder outputs staged through pinned memory instead of a plain
//                                    cudaMemcpy (row "engine fp16 cudagraph staged"); "auto+postgraph"
//                                    post-processes per image size in a CUDA graph, "auto+posthost" on the
//                                    CPU cores (MASKROOM_ORTX_POST)
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { generateMasks, type AmgBackend } from '../common/amg/generate.js';
import { parseAmgOptions, type AmgOptionsInput } from '../common/amg/types.js';
import { encodeCompressed } from '../common/rle/index.js';
import { decodeForSam } from '../main/engine/image.js';
import { lowResToMask } from '../main/engine/postprocess.js';
import { generateMasks as generateMasksInEngine } from '../main/engine/amg/index.js';
import { SamEngine } from '../main/engine/index.js';
import { normalizeToTensor } from '../main/engine/preprocess.js';
import { withEnv } from '../main/engine/testing.js';
import {
  BLOG,
  GpuBenchError,
  lowResSlice,
  MEAN,
  MPS_PROMPTS,
  onePointPrompts,
  OrtSam,
  promptPoints,
  STD,
  TASKS,
  type Task,
} from './gpu-ort.js';
import { fixtureAgreement, fixtureEngineAgreement } from './gpu-fixture.js';
import { deviceName, GpuMemory, hostNote, hostProfile } from './gpu-host.js';
import { imageSetNote, imageSizes, refImagesNote } from './gpu-images.js';
import { bestCudaOptions, modeTag, parseGraphModes, readStageJson, type GraphMode } from './gpu-modes.js';
import { renderReport, type CudaOptionsRun, type OrtxAb } from './gpu-report.js';
import { percentile, type BenchOptions, type SuiteResult } from './types.js';

interface ImageRun {
  ms: number;
  stages: { decode: number; encoder: number; decoder: number; post: number };
  masks: number;
}

/** One image through one task, timed as the reference times it: file read → RLE strings. */
async function runTask(
  sam: OrtSam,
  file: string,
  task: Task,
  amgBatch: number,
  amgOpts: AmgOptionsInput,
): Promise<ImageRun> {
  const t0 = performance.now();
  const img = await decodeForSam(readFileSync(file), 1024);
  const g = img.geometry;
  const tensor = normalizeToTensor(img.rgb, g, MEAN, STD);
  const t1 = performance.now();
  const feats = await sam.embed(tensor);
  const t2 = performance.now();
  let decoderMs = 0;
  let masks = 0;
  if (task === 'amg') {
    const backend: AmgBackend = {
      maxBatch: amgBatch,
      setCrop: async () => {},
      decode: async (pts) => {
        const p = onePointPrompts(pts, g);
        const d0 = performance.now();
        const out = await sam.decode(feats, p.coords, p.labels, p.n, 2);
        decoderMs += performance.now() - d0;
        return out;
      },
    };
    const res = await generateMasks(
      g.height,
      g.width,
      parseAmgOptions({ ...amgOpts, pointsPerBatch: amgBatch }),
      backend,
    );
    masks = res.masks.length;
  } else {
    const stem = path.basename(file).replace(/\.[^.]+$/, '');
    const pts = promptPoints(stem, g.height, g.width, task === 'sps' ? 1 : MPS_PROMPTS);
    const p = onePointPrompts(pts, g);
    const d0 = performance.now();
    const out = await sam.decode(feats, p.coords, p.labels, p.n, 2);
    decoderMs = performance.now() - d0;
    const pick = task === 'sps' ? [1, 2, 3] : Array.from({ length: p.n }, (_, i) => i * 4);
    if (sam.gpuPost) {
      masks = (await sam.rles(out.lowRes, pick, g)).length;
    } else {
      for (const idx of pick) {
        encodeCompressed(lowResToMask(lowResSlice(out.lowRes, idx), g), g.height, g.width);
        masks++;
      }
    }
  }
  const t3 = performance.now();
  return {
    ms: t3 - t0,
    stages: { decode: t1 - t0, encoder: t2 - t1, decoder: decoderMs, post: t3 - t2 - decoderMs },
    masks,
  };
}

/**
 * The same task through the product path: SamEngine (worker thread, caches off) and the engine's AMG op.
 * SPS keeps SAM's chosen mask only (the engine's segment()); MPS is one segmentMany() call (mask 0 each).
 */
async function runEngineTask(
  engine: SamEngine,
  file: string,
  task: Task,
  amgBatch: number,
  amgOpts: AmgOptionsInput,
): Promise<ImageRun> {
  const t0 = performance.now();
  const stem = path.basename(file).replace(/\.[^.]+$/, '');
  if (task === 'amg') {
    const res = await generateMasksInEngine(engine, file, { ...amgOpts, pointsPerBatch: amgBatch });
    const ms = performance.now() - t0;
    const dec = res.stats.decodeMs;
    const st = { decode: 0, encoder: res.timings.embed, decoder: dec, post: res.timings.generate - dec };
    return { ms, stages: st, masks: res.masks.length };
  }
  if (task === 'sps') {
    const probe = await engine.embed(file);
    const [x, y] = promptPoints(stem, probe.height, probe.width, 1);
    // What the app does: embed when the image opens, segment() on the key per click; timed as their sum.
    const t1 = performance.now();
    const r = await engine.segment({ key: probe.key }, { points: [{ x: x!, y: y!, label: 1 }] });
    const ms = probe.timings.total + (performance.now() - t1);
    const t = probe.timings;
    const st = {
      decode: t.read + t.decode + t.preprocess,
      encoder: t.encoder,
      decoder: r.timings.decoder,
      post: r.timings.postprocess + r.timings.rle,
    };
    return { ms, stages: st, masks: 1 };
  }
  const e = await engine.embed(file);
  const pts = promptPoints(stem, e.height, e.width, MPS_PROMPTS);
  const prompts = Array.from({ length: MPS_PROMPTS }, (_, i) => ({
    points: [{ x: pts[2 * i]!, y: pts[2 * i + 1]!, label: 1 as const }],
  }));
  // segmentMany: one batched decoder call; on the fast path mask choice, upscaling and RLE run starts on
  // the GPU, otherwise the engine's JS upscaling. Mask 0 per prompt, as the reference's MPS.
  const t1 = performance.now();
  const many = await engine.segmentMany(e.key, prompts, { multimask: false, pointsPerBatch: MPS_PROMPTS });
  const t = e.timings;
  const st = {
    decode: t.read + t.decode + t.preprocess,
    encoder: t.encoder,
    decoder: many.timings.decoder,
    post: many.timings.postprocess + many.timings.rle,
  };
  return { ms: t.total + (performance.now() - t1), stages: st, masks: many.masks.length };
}

/** One image's time and stages, for the debug log. */
function imageLine(r: ImageRun): string {
  const st = Object.entries(r.stages)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');
  return `${r.ms.toFixed(1)} ms (${st})`;
}

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Max / mean abs error of our low-res logits against the reference's, on the reference's own input tensor. */
async function agreement(
  sam: OrtSam,
  refDir: string,
): Promise<{ maxAbs: number; meanAbs: number; refMeanAbs: number; images: number } | null> {
  const dir = path.join(refDir, 'agree');
  if (!existsSync(dir)) return null;
  const stems = readdirSync(dir)
    .filter((f) => f.endsWith('.image.f32'))
    .map((f) => f.slice(0, -'.image.f32'.length));
  let maxAbs = 0;
  let sum = 0;
  let refSum = 0;
  let count = 0;
  for (const stem of stems) {
    const feats = await sam.embed(readF32(path.join(dir, `${stem}.image.f32`)));
    for (const task of ['sps', 'mps']) {
      const metaFile = path.join(dir, `${stem}.${task}.json`);
      if (!existsSync(metaFile)) continue;
      const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { coords: number[][][]; labels: number[][] };
      const b = meta.labels.length;
      const out = await sam.decode(
        feats,
        new Float32Array(meta.coords.flat(2)),
        new Float32Array(meta.labels.flat()),
        b,
        2,
      );
      const ref = readF32(path.join(dir, `${stem}.${task}.low.f32`));
      if (ref.length !== out.lowRes.length)
        throw new GpuBenchError(
          `${stem}.${task}: reference has ${ref.length} logits, ours ${out.lowRes.length}`,
        );
      for (let i = 0; i < ref.length; i++) {
        const d = Math.abs(out.lowRes[i]! - ref[i]!);
        if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
        sum += d;
        refSum += Math.abs(ref[i]!);
      }
      count += ref.length;
    }
  }
  return count ? { maxAbs, meanAbs: sum / count, refMeanAbs: refSum / count, images: stems.length } : null;
}

/** 1024 prompts in one decoder call (the batch at which ORT's CUDA ConvTranspose failed), + GPU post check. */
async function batch1024(sam: OrtSam, file: string, per: Record<string, unknown>): Promise<void> {
  const img = await decodeForSam(readFileSync(file), 1024);
  const feats = await sam.embed(normalizeToTensor(img.rgb, img.geometry, MEAN, STD));
  const grid = Array.from(
    { length: 2048 },
    (_, i) => ((i % 2 === 0 ? (i / 2) % 32 : Math.floor(i / 64)) + 0.5) / 32,
  );
  const p = onePointPrompts(
    grid.map((v, i) => v * (i % 2 === 0 ? img.geometry.width : img.geometry.height)),
    img.geometry,
  );
  const b0 = performance.now();
  const big = await sam.decode(feats, p.coords, p.labels, p.n, 2);
  per.batch1024 = { ms: performance.now() - b0, finite: big.lowRes.every((v) => Number.isFinite(v)) };
  if (sam.gpuPost) {
    // GPU post-processing vs the engine's exact JS upscaling, on the first 8 masks of the big batch.
    const picks = [0, 1, 2, 3, 4, 5, 6, 7];
    const gpu = await sam.rles(big.lowRes, picks, img.geometry);
    const { height: h, width: w } = img.geometry;
    let differ = 0;
    for (const [k, idx] of picks.entries()) {
      const ref = encodeCompressed(lowResToMask(lowResSlice(big.lowRes, idx), img.geometry), h, w).counts;
      if (ref !== gpu[k]!.counts) differ++;
    }
    per.gpuPostMasksDifferingFromJs = `${differ}/${picks.length}`;
  }
}

function row(arch: string, pathName: string, task: Task, runs: ImageRun[], ref: RefSummary | null) {
  const rest = runs.slice(1).map((r) => r.ms);
  const p50 = percentile(rest, 50);
  const stage = (k: keyof ImageRun['stages']) =>
    percentile(
      runs.slice(1).map((r) => r.stages[k]),
      50,
    ).toFixed(0);
  const r = ref?.tasks[task];
  return {
    arch,
    path: pathName,
    task,
    first_ms: +runs[0]!.ms.toFixed(1),
    p50_ms: +p50.toFixed(1),
    p90_ms: +percentile(rest, 90).toFixed(1),
    torch_p50_ms: r ? +r.p50_ms.toFixed(1) : null,
    speedup: r ? +(r.p50_ms / p50).toFixed(2) : null,
    blog_speedup: +(BLOG[task][0] / BLOG[task][1]).toFixed(2),
    'stages p50 dec/enc/dec/post': `${stage('decode')}/${stage('encoder')}/${stage('decoder')}/${stage('post')}`,
    masks: +(runs.reduce((s, x) => s + x.masks, 0) / runs.length).toFixed(1),
    torch_masks: r ? +r.masks_per_image.toFixed(1) : null,
  };
}

interface RefTask {
  first_ms: number;
  p50_ms: number;
  p90_ms: number;
  masks_per_image: number;
}
interface RefSummary {
  device: string;
  /** How many images it ran on; a summary without it counts as unrecorded (refImagesNote). */
  images?: number;
  peak_gpu_mib: number | null;
  tasks: Record<Task, RefTask>;
}

/** Runs the suite; see the file header. */
export async function run(opts: BenchOptions): Promise<SuiteResult> {
  const env = process.env;
  const modelsDir = path.resolve(env.GPU_BENCH_MODELS ?? '.gpu-models');
  const refRoot = path.resolve(env.GPU_BENCH_REF ?? '.gpu-ref');
  const imagesDir = path.resolve(env.GPU_BENCH_IMAGES ?? '.gpu-data/images');
  const docsDir = path.resolve(env.GPU_BENCH_DOCS ?? 'docs/benchmarks');
  const archs = (env.GPU_BENCH_ARCHS ?? 'sam_vit_b,sam_vit_h,sam2.1_hiera_large').split(',').filter(Boolean);
  const amgBatch = Number.parseInt(env.GPU_BENCH_AMG_BATCH ?? '256', 10);
  if (!(amgBatch >= 1 && amgBatch <= 1024)) throw new GpuBenchError('GPU_BENCH_AMG_BATCH must be 1..1024');
  if (!existsSync(imagesDir)) throw new GpuBenchError(`no images at ${imagesDir}`);
  const limit = Number.parseInt(env.GPU_BENCH_LIMIT ?? (opts.quick ? '8' : '50'), 10);
  const paths = (env.GPU_BENCH_PATHS ?? 'ort,engine').split(',');
  // The direct onnxruntime path always gives the logit agreement and the 1024-prompt check; its task rows
  // (the comparison with the engine) can be skipped with GPU_BENCH_ORT_TASKS=none.
  const ortTasksEnv = env.GPU_BENCH_ORT_TASKS;
  // Prompts per decoder call on the engine's AMG rows; several (e.g. "1024,256") give one row each.
  const engineAmgBatches = (env.GPU_BENCH_ENGINE_AMG_BATCH ?? '1024')
    .split(',')
    .map((b) => Number.parseInt(b, 10));
  if (!engineAmgBatches.every((b) => b >= 1 && b <= 1024))
    throw new GpuBenchError('GPU_BENCH_ENGINE_AMG_BATCH must be 1..1024 (comma-separated)');
  const engineAmgBatch = engineAmgBatches[0]!;
  const variants = (env.GPU_BENCH_VARIANTS ?? 'fp32,fp16').split(',').filter(Boolean) as ('fp32' | 'fp16')[];
  for (const v of variants) {
    if (v !== 'fp32' && v !== 'fp16') throw new GpuBenchError(`unknown variant ${v} in GPU_BENCH_VARIANTS`);
  }
  const graphModes = parseGraphModes(env.GPU_BENCH_CUDA_GRAPHS ?? 'off,auto', env.GPU_BENCH_ORTX_CUDA);
  const tasks = (env.GPU_BENCH_TASKS ?? TASKS.join(',')).split(',').filter(Boolean) as Task[];
  for (const t of tasks)
    if (!TASKS.includes(t)) throw new GpuBenchError(`unknown task ${t} in GPU_BENCH_TASKS`);
  const ortTasks =
    ortTasksEnv === undefined ? tasks : tasks.filter((t) => ortTasksEnv.split(',').includes(t));
  const images = readdirSync(imagesDir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .slice(0, limit)
    .map((f) => path.join(imagesDir, f));
  if (images.length === 0) throw new GpuBenchError(`no images in ${imagesDir}`);
  const device = opts.provider === 'cuda' ? deviceName() : 'cpu';
  const mem = new GpuMemory();
  if (opts.provider === 'cuda') mem.start();
  const rows: SuiteResult['rows'] = [];
  const notes: string[] = [];
  const detail: Record<string, unknown> = {};
  const host = await hostProfile(images[0]!);
  notes.push(hostNote(host));
  const sizes = await imageSizes(images);
  notes.push(imageSetNote(sizes));

  for (const arch of archs) {
    const refFile = path.join(refRoot, arch, 'summary.json');
    const ref = existsSync(refFile) ? (JSON.parse(readFileSync(refFile, 'utf8')) as RefSummary) : null;
    if (!ref) notes.push(`${arch}: no PyTorch reference at ${refFile}; ratios left empty`);
    const refCount = ref && refImagesNote(arch, ref.images, images.length);
    if (refCount) notes.push(refCount);
    const refFrom = path.join(refRoot, arch, 'from.txt');
    if (ref && existsSync(refFrom))
      notes.push(
        `${arch}: PyTorch reference from ${readFileSync(refFrom, 'utf8').trim()} (an earlier run, not measured in this one)`,
      );
    // Random-init weights predict no confident masks: the reference and we then run AMG with the filters
    // given in the reference summary, so both do the same post-processing work.
    const refOpts = ref
      ? (ref as unknown as { amg_options?: { pred_iou_thresh: number; stability_thresh: number } })
          .amg_options
      : undefined;
    const amgOpts: AmgOptionsInput = refOpts
      ? { predIouThresh: refOpts.pred_iou_thresh, stabilityScoreThresh: refOpts.stability_thresh }
      : {};
    for (const variant of variants) {
      const dir = path.join(modelsDir, variant === 'fp32' ? arch : `${arch}-fp16`);
      if (!existsSync(dir)) {
        notes.push(`${arch} ${variant}: not exported (${dir} missing)`);
        continue;
      }
      if (paths.includes('ort')) {
        mem.reset();
        const sam = await OrtSam.load(dir, opts.provider);
        const agree = ref ? await agreement(sam, path.join(refRoot, arch)) : null;
        const per: Record<string, unknown> = { loadMs: sam.loadMs, agreement: agree };
        for (const task of ortTasks) {
          const batch = variant === 'fp16' ? amgBatch : 64;
          const runs: ImageRun[] = [];
          for (const f of images) runs.push(await runTask(sam, f, task, batch, amgOpts));
          rows.push(row(arch, `ORT ${variant}${task === 'amg' ? ` b${batch}` : ''}`, task, runs, ref));
          per[task] = { perImageMs: runs.map((x) => +x.ms.toFixed(2)), stages: runs.map((x) => x.stages) };
        }
        if (env.GPU_BENCH_BATCH1024 !== '0') {
          try {
            await batch1024(sam, images[0]!, per);
          } catch (err) {
            per.batch1024 = { error: (err as Error).message.split('\n')[0] };
          }
        }
        per.peakGpuMiB = mem.peak();
        detail[`${arch}-${variant}`] = per;
        notes.push(
          `${arch} ${variant}: load ${(sam.loadMs / 1000).toFixed(1)} s, peak GPU ${mem.peak() ?? '?'} MiB (torch ${ref?.peak_gpu_mib ?? '?'} MiB), ` +
            `1024-prompt decode ${JSON.stringify(per.batch1024 ?? 'skipped')}, ` +
            `agreement vs torch fp32: ${agree ? `max ${agree.maxAbs.toExponential(2)} mean ${agree.meanAbs.toExponential(2)} (|ref| mean ${agree.refMeanAbs.toFixed(3)})` : 'n/a'}`,
        );
        await sam.release();
      }
      if (paths.includes('engine')) {
        mem.reset();
        const enginePer: Record<string, unknown> = {};
        const peaks = new Map<string, number>();
        const jobs = graphModes.flatMap((mode) =>
          tasks.flatMap((task): { task: Task; batch: number; mode: GraphMode }[] =>
            task === 'amg'
              ? engineAmgBatches.map((batch) => ({ task, batch, mode }))
              : [{ task, batch: engineAmgBatch, mode }],
          ),
        );
        for (const { task, batch, mode } of jobs) {
          const { graphs } = mode;
          const tag = modeTag(mode);
          // One name per job for its detail entries: sps, amg_b1024, sps_cudagraph, sps_cudagraph_<set>.
          const key = `${task === 'amg' ? `amg_b${batch}` : task}${tag.replace(/ /g, '_')}`;
          // A fresh engine per task: its embedding cache must not serve the next task's images.
          const runs: ImageRun[] = [];
          let engine: SamEngine | null = null;
          mem.reset();
          // The engine's worker copies the environment when it starts: the option set applies to this
          // engine only.
          let cudaSet = mode.cuda;
          if (mode.name === 'best' && !cudaSet) {
            const chosen = bestCudaOptions(docsDir, path.basename(dir));
            if (!chosen) {
              notes.push(`${arch} ${variant} engine${tag} ${task}: no cudaopts result to choose from`);
              continue;
            }
            cudaSet = chosen.cuda;
            enginePer.cudaOptionsBest = chosen;
          }
          try {
            const c0 = performance.now();
            engine = await withEnv(
              {
                MASKROOM_ORTX_CUDA: cudaSet ? JSON.stringify(cudaSet) : undefined,
                MASKROOM_ORTX_DOWNLOAD: mode.download,
                MASKROOM_ORTX_POST: mode.post,
              },
              () =>
                SamEngine.create({
                  modelDir: dir,
                  provider: opts.provider,
                  cacheDir: false,
                  cudaGraphs: graphs,
                }),
            );
            enginePer[`${key}CreateMs`] = +(performance.now() - c0).toFixed(0);
            // fastPath, fastPathCudaGraph, fastPathCudaGraph_<set>, fastPathCudaGraph_staged, ...
            const fpKey = `fastPath${tag.replace(' cudagraph', 'CudaGraph').replace(/ /g, '_')}`;
            enginePer[fpKey] = engine.describe().fastPath;
            enginePer.upscale = engine.describe().upscale;
            for (const f of images) {
              const r = await runEngineTask(engine, f, task, batch, amgOpts);
              runs.push(r);
              // With ortx's debug log on, a line per image places its sessions, captures and replays (run
              // 20's 300 ms stalls came from a log without them).
              if (process.env.ORTX_DEBUG)
                console.error(`[bench] ${key} ${path.basename(f)}: ${imageLine(r)}`);
            }
            rows.push(
              row(arch, `engine ${variant}${tag}${task === 'amg' ? ` b${batch}` : ''}`, task, runs, ref),
            );
            enginePer[key] = {
              perImageMs: runs.map((x) => +x.ms.toFixed(2)),
              stages: runs.map((x) => x.stages),
              // After the runs: graphs refused for shapes or image sizes that came in meanwhile.
              cudaGraphsAfter: engine.describe().fastPath.cudaGraphs,
            };
          } catch (err) {
            // Reported, not fatal: the direct onnxruntime rows of the same run stay valid.
            notes.push(
              `${arch} ${variant} engine${tag} ${task} failed: ${(err as Error).message.split('\n')[0]}`,
            );
          }
          await engine?.close();
          // Per job (one engine each), so rows with and without CUDA graphs are told apart.
          const peak = mem.peak();
          enginePer[`${key}PeakGpuMiB`] = peak;
          const modeName = mode.name ? `${graphs}:${mode.name}` : graphs;
          if (peak !== null) peaks.set(modeName, Math.max(peaks.get(modeName) ?? 0, peak));
        }
        enginePer.peakGpuMiB = peaks.get('off') ?? (peaks.size ? Math.max(...peaks.values()) : null);
        enginePer.peakGpuMiBByCudaGraphs = Object.fromEntries(peaks);
        detail[`${arch}-${variant}-engine`] = enginePer;
        // The first SPS engine's creation, `off` if it ran, else the graph runtime's (GPU_BENCH_CUDA_GRAPHS=auto).
        const createMs = enginePer.spsCreateMs ?? enginePer.sps_cudagraphCreateMs ?? '?';
        notes.push(
          `${arch} ${variant} engine: create ${String(createMs)} ms (sessions + fast-path graphs), ` +
            `peak GPU ${JSON.stringify(enginePer.peakGpuMiBByCudaGraphs)} MiB by cudaGraphs (torch ${ref?.peak_gpu_mib ?? '?'} MiB)` +
            (enginePer.fastPath ? `, fast path ${JSON.stringify(enginePer.fastPath)}` : '') +
            (enginePer.fastPathCudaGraph
              ? `, with cudaGraphs ${JSON.stringify(enginePer.fastPathCudaGraph)}`
              : '') +
            (enginePer.cudaOptionsBest
              ? `, "best" CUDA options: ${JSON.stringify(enginePer.cudaOptionsBest)}`
              : ''),
        );
      }
    }
  }
  let fixture: unknown = null;
  let fixtureEngine: unknown = null;
  let fixtureEngineGraphs: unknown = null;
  const fixtureEnginePost: Record<string, unknown> = {};
  if (env.GPU_BENCH_FIXTURE !== '0') {
    try {
      // The fixture's decoder is the official export: its [B,32,256,256] upscaling activation reaches 2^31
      // elements (past onnxruntime CUDA's int32 indexing) at B = 1024, which our exporter restructures.
      fixtureEngine = await fixtureEngineAgreement(opts.provider, Math.min(engineAmgBatch, 256));
      notes.push(`fixture, engine fast path vs plain path: ${JSON.stringify(fixtureEngine)}`);
    } catch (err) {
      notes.push(`fixture engine agreement failed: ${(err as Error).message}`);
    }
    // The graph runtime (ortx sessions, device hand-offs, CUDA graphs) against the same plain path, when the
    // run has cudaGraphs rows: what its masks are worth, not only its speed.
    if (opts.provider === 'cuda' && graphModes.some((m) => m.graphs !== 'off'))
      try {
        fixtureEngineGraphs = await fixtureEngineAgreement(
          opts.provider,
          Math.min(engineAmgBatch, 256),
          'auto',
        );
        notes.push(
          `fixture, engine fast path with cudaGraphs auto vs plain path: ${JSON.stringify(fixtureEngineGraphs)}`,
        );
      } catch (err) {
        notes.push(`fixture engine agreement with cudaGraphs auto failed: ${(err as Error).message}`);
      }
    // And each other place the run's modes post-process in (+postgraph, +posthost).
    const posts =
      opts.provider === 'cuda'
        ? graphModes.flatMap((m) => (m.graphs !== 'off' && m.post ? [m.post] : []))
        : [];
    for (const post of new Set(posts)) {
      try {
        const r = await withEnv({ MASKROOM_ORTX_POST: post }, () =>
          fixtureEngineAgreement(opts.provider, Math.min(engineAmgBatch, 256), 'auto'),
        );
        fixtureEnginePost[post] = r;
        notes.push(
          `fixture, engine fast path with cudaGraphs auto and post-processing "${post}" vs plain path: ${JSON.stringify(r)}`,
        );
      } catch (err) {
        notes.push(
          `fixture engine agreement with post-processing "${post}" failed: ${(err as Error).message}`,
        );
      }
    }
    if (paths.includes('ort'))
      try {
        fixture = await fixtureAgreement(opts.provider, modelsDir, Math.min(amgBatch, 1024));
        notes.push(`fixture, direct onnxruntime fast vs plain: ${JSON.stringify(fixture)}`);
      } catch (err) {
        notes.push(`fixture agreement failed: ${(err as Error).message}`);
      }
  }
  mem.stop();
  const result: SuiteResult = {
    rows,
    notes,
    extra: {
      device,
      host,
      images: images.length,
      detail,
      fixture,
      fixtureEngine,
      fixtureEngineGraphs,
      fixtureEnginePost,
      ortxAb: readStageJson<OrtxAb>(docsDir, 'ortx-ab-'), // stage ortxab (ortx_ab.mjs)
      cudaOptions: readStageJson<CudaOptionsRun>(docsDir, 'cuda-options-'), // stage cudaopts
    },
  };
  writeReport(docsDir, device, opts, result);
  return result;
}

function writeReport(docsDir: string, device: string, opts: BenchOptions, result: SuiteResult): void {
  mkdirSync(docsDir, { recursive: true });
  const slug = `gpu-${device
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}`;
  const date = new Date().toISOString();
  writeFileSync(
    path.join(docsDir, `${slug}.md`),
    renderReport(device, date, opts.provider, result, ort.env.versions.common),
  );
  writeFileSync(path.join(docsDir, `${slug}.json`), JSON.stringify({ device, date, ...result }, null, 2));
}
