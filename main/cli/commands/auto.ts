// `maskroom auto <dir>` (SAM automatic mask generation over a project's images) and
// `maskroom boxes-to-masks <dir>` (a mask for every box-only annotation), as resumable jobs: an
// interrupted run (Ctrl-C, crash, kill) is resumed by running the same command again.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AmgOptionsInput } from '../../../common/amg/types.js';
import type { DecoderChoice } from '../../engine/amg/index.js';
import { fixtureModelDir, loadModelInfo, SamEngine } from '../../engine/index.js';
import { engineOptions, type EngineFlags } from './engine-options.js';
import {
  findResumableJob,
  resumeJob,
  startAutoAnnotate,
  startBoxesToMasks,
  type AutoAnnotateParams,
  type AutoJobKind,
  type BoxesToMasksParams,
  type JobHandle,
  type JobProgress,
} from '../../jobs/index.js';
import { openProject, type Project } from '../../store/index.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

function intArg(min: number, max: number, what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${what} must be an integer in [${min}, ${max}], got "${v}"`);
    return n;
  };
}
function unitArg(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
      throw new InvalidArgumentError(`${what} must be a number in [0, 1], got "${v}"`);
    return n;
  };
}

interface CommonFlags extends EngineFlags {
  model?: string;
  images?: string;
  decoder: DecoderChoice;
  new: boolean;
  json: boolean;
}

interface AutoFlags extends CommonFlags {
  pointsPerSide?: number;
  pointsPerBatch?: number;
  predIouThresh?: number;
  stabilityThresh?: number;
  boxNmsThresh?: number;
  cropLayers?: number;
  minRegionArea?: number;
  category?: string;
}

/**
 * The model folder: --model, else the project's active model (a folder, or the fixture's id), else the
 * bundled fixture tinysam-shapes.
 */
export function resolveModelDir(project: Project, flag: string | undefined): string {
  if (flag) return path.resolve(flag);
  const active = project.settings.getSettings().activeModelId;
  if (active) {
    const asDir = path.resolve(project.dir, active);
    if (existsSync(asDir) && statSync(asDir).isDirectory()) return asDir;
    const fixture = fixtureModelDir();
    if (loadModelInfo(fixture).manifest.id === active) return fixture;
    throw new InvalidArgumentError(
      `the project's active model "${active}" is not a model folder; pass --model <dir>`,
    );
  }
  return fixtureModelDir();
}

function bar(label: string): { update: (p: JobProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const b = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} · {rate} img/s · eta {etaText} · {file}`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p) => {
      const payload = {
        rate: p.imagesPerSecond ? p.imagesPerSecond.toFixed(2) : '–',
        etaText: p.etaSeconds === null ? '–' : `${Math.round(p.etaSeconds)}s`,
        file: p.message.slice(-40),
      };
      if (!started) {
        b.start(p.total, p.done, payload);
        started = true;
      } else {
        b.setTotal(p.total);
        b.update(p.done, payload);
      }
    },
    stop: () => {
      if (started) b.stop();
    },
  };
}

async function runJob(
  dir: string,
  kind: AutoJobKind,
  flags: CommonFlags,
  params: AutoAnnotateParams | BoxesToMasksParams,
): Promise<void> {
  const project = await openProject(dir);
  let engine: SamEngine | null = null;
  // Ctrl-C stops after the current image and leaves the job paused; the same command resumes it.
  const onSigint = () => handle?.suspend();
  let handle: JobHandle | null = null;
  try {
    engine = await SamEngine.create({
      modelDir: resolveModelDir(project, flags.model),
      provider: flags.provider,
      fastPath: flags.fastPath,
      cudaGraphs: flags.cudaGraphs,
      cacheDir: flags.cache ? flags.cacheDir : false,
    });
    const p = engine.providerInfo();
    if (!flags.json)
      out(
        `model     ${engine.model.id} · provider ${p.active}${p.fallbackReason ? ` (${p.fallbackReason})` : ''}` +
          ` · fast path ${engine.describe().fastPath.active ? 'on' : 'off'}` +
          ` · CUDA graphs ${engine.describe().fastPath.cudaGraphs === null ? 'on' : 'off'}`,
      );
    const previous = flags.new ? undefined : findResumableJob(project, kind, params);
    handle = previous
      ? resumeJob(project, engine, previous.id)
      : kind === 'autoAnnotate'
        ? startAutoAnnotate(project, engine, params as AutoAnnotateParams)
        : startBoxesToMasks(project, engine, params as BoxesToMasksParams);
    if (!flags.json) out(`${previous ? 'resuming' : 'started '}  job ${handle.id} (${kind})`);
    const b = bar(kind === 'autoAnnotate' ? 'auto' : 'boxes');
    handle.onProgress((x) => b.update(x));
    process.once('SIGINT', onSigint);
    const fin = await handle.done;
    b.stop();
    const counts = project.annotations.annotationCounts();
    if (flags.json) {
      out(JSON.stringify({ ...fin, proposed: counts.proposed }));
    } else {
      const rate = fin.imagesPerSecond ? `${fin.imagesPerSecond.toFixed(2)} images/s` : '';
      out(
        `${fin.state.padEnd(9)} job ${fin.jobId}: ${fin.done}/${fin.total} images, ${fin.failed} failed ${rate ? `· ${rate}` : ''}`,
      );
      if (fin.total === 0) {
        out(
          kind === 'boxesToMasks'
            ? 'nothing   no selected image has box-only annotations'
            : 'nothing   no image matches',
        );
      }
      out(`proposed  ${counts.proposed} annotation(s) waiting for review`);
      if (fin.failed) {
        for (const f of project.jobs.failedJobItems({ jobId: fin.jobId }).slice(0, 10))
          out(`failed    image ${f.imageId}: ${f.error ?? ''}`);
      }
    }
    if (fin.state === 'failed')
      throw Object.assign(new Error(fin.error?.message ?? 'job failed'), { code: fin.error?.code });
    if (fin.state === 'paused' || fin.state === 'cancelled') process.exitCode = 130;
  } finally {
    process.off('SIGINT', onSigint);
    await engine?.close();
    project.close();
  }
}

function common(cmd: Command): Command {
  return engineOptions(cmd)
    .argument('<dir>', 'project folder')
    .option(
      '-m, --model <dir>',
      "model folder (default: the project's active model, else the bundled tinysam-shapes fixture)",
    )
    .option('--images <glob>', 'only images whose path (relative to the project root) matches this glob')
    .addOption(
      new Option('--decoder <kind>', 'batched decoder, or the official one-prompt-per-call decoder')
        .choices(['auto', 'batched', 'single'])
        .default('auto'),
    )
    .option('--new', 'start a new job even if an unfinished one with the same settings exists', false)
    .option('--json', 'print the outcome as one JSON object', false);
}

/** Registers `maskroom auto` and `maskroom boxes-to-masks`. */
export function register(program: Command): void {
  common(
    program
      .command('auto')
      .description(
        "Propose masks for every object of the project's images (SAM automatic mask generation); resumable.",
      ),
  )
    .option(
      '--points-per-side <n>',
      'grid points per side (SAM default 32)',
      intArg(1, 256, '--points-per-side'),
    )
    .option(
      '--points-per-batch <n>',
      'prompts per batched decoder call (default 64, ≤ 1024)',
      intArg(1, 1024, '--points-per-batch'),
    )
    .option(
      '--pred-iou-thresh <x>',
      'keep masks with predicted IoU above this (SAM default 0.88)',
      unitArg('--pred-iou-thresh'),
    )
    .option(
      '--stability-thresh <x>',
      'keep masks with stability score at least this (SAM default 0.95)',
      unitArg('--stability-thresh'),
    )
    .option(
      '--box-nms-thresh <x>',
      'box IoU above which duplicates are dropped (default 0.7)',
      unitArg('--box-nms-thresh'),
    )
    .option('--crop-layers <n>', 'extra crop layers (default 0)', intArg(0, 4, '--crop-layers'))
    .option(
      '--min-region-area <n>',
      'remove islands and fill holes smaller than this (default 0)',
      intArg(0, 1_000_000_000, '--min-region-area'),
    )
    .option('--category <name>', 'category of the proposals (created if missing; default "object")')
    .action(async (dir: string, f: AutoFlags) => {
      const amg: AmgOptionsInput = {};
      if (f.pointsPerSide !== undefined) amg.pointsPerSide = f.pointsPerSide;
      if (f.pointsPerBatch !== undefined) amg.pointsPerBatch = f.pointsPerBatch;
      if (f.predIouThresh !== undefined) amg.predIouThresh = f.predIouThresh;
      if (f.stabilityThresh !== undefined) amg.stabilityScoreThresh = f.stabilityThresh;
      if (f.boxNmsThresh !== undefined) amg.boxNmsThresh = f.boxNmsThresh;
      if (f.cropLayers !== undefined) amg.cropNLayers = f.cropLayers;
      if (f.minRegionArea !== undefined) amg.minMaskRegionArea = f.minRegionArea;
      const params: AutoAnnotateParams = { amg, decoder: f.decoder };
      if (f.images) params.glob = f.images;
      if (f.category) params.categoryName = f.category;
      await runJob(dir, 'autoAnnotate', f, params);
    });

  common(
    program
      .command('boxes-to-masks')
      .description(
        'Turn box-only annotations (e.g. an imported detection dataset) into proposed masks, keeping their category; resumable.',
      ),
  )
    .option(
      '--points-per-batch <n>',
      'boxes per batched decoder call (default 64, ≤ 1024)',
      intArg(1, 1024, '--points-per-batch'),
    )
    .action(async (dir: string, f: CommonFlags & { pointsPerBatch?: number }) => {
      const params: BoxesToMasksParams = { decoder: f.decoder };
      if (f.images) params.glob = f.images;
      if (f.pointsPerBatch !== undefined) params.pointsPerBatch = f.pointsPerBatch;
      await runJob(dir, 'boxesToMasks', f, params);
    });
}
