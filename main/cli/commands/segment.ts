// `maskroom segment <image> --model <dir> --point x,y[,label]... [--box x0,y0,x1,y1] [--out mask.png|mask.json]`
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import sharp from 'sharp';
import { decode } from '../../../common/rle/index.js';
import { SamEngine, type MaskResult, type Prompt, type PromptPoint } from '../../engine/index.js';
import { engineOptions, type EngineFlags } from './engine-options.js';

/**
 * A bad combination of options found in the action. Not a CommanderError: main() prints only errors that
 * commander has not printed already, and commander does not print errors thrown from actions.
 */
class UsageError extends Error {
  readonly code = 'bad_arguments';
}

function numbers(value: string, what: string, count: number[]): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (!count.includes(parts.length) || parts.some((p) => p === '') || !nums.every(Number.isFinite)) {
    throw new InvalidArgumentError(
      `${what} must be ${count.map((c) => `${c} comma-separated numbers`).join(' or ')}, got "${value}"`,
    );
  }
  return nums;
}

function parsePoint(value: string, previous: PromptPoint[] = []): PromptPoint[] {
  const [x, y, label = 1] = numbers(value, '--point', [2, 3]) as [number, number, number?];
  if (label !== 0 && label !== 1)
    throw new InvalidArgumentError(`--point label must be 1 (positive) or 0 (negative), got ${label}`);
  return [...previous, { x, y, label }];
}

function parseBox(value: string): [number, number, number, number] {
  return numbers(value, '--box', [4]) as [number, number, number, number];
}

interface SegmentFlags extends EngineFlags {
  model: string;
  point?: PromptPoint[];
  box?: [number, number, number, number];
  out?: string;
  json: boolean;
}

/** Writes the mask as a full-size 8-bit PNG (255 inside) or as {size,counts,score,bbox,area} JSON. */
async function writeMask(file: string, r: MaskResult): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') {
    const body = { size: r.rle.size, counts: r.rle.counts, score: r.score, bbox: r.bbox, area: r.area };
    await writeFile(file, JSON.stringify(body) + '\n');
    return;
  }
  const [h, w] = r.rle.size;
  const mask = decode(r.rle);
  for (let i = 0; i < mask.length; i++) mask[i] = mask[i] ? 255 : 0;
  await sharp(mask, { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(file);
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;

export function register(program: Command): void {
  engineOptions(program.command('segment'))
    .description('Segment one object in an image from point clicks and/or a box (SAM).')
    .argument('<image>', 'image file (JPEG, PNG, WebP, TIFF, BMP)')
    .requiredOption('-m, --model <dir>', 'model folder (manifest.json + ONNX files)')
    .option(
      '-p, --point <x,y[,label]>',
      'a click in image pixels; label 1 = object (default), 0 = not object; repeatable',
      parsePoint,
    )
    .option('-b, --box <x0,y0,x1,y1>', 'a box around the object, in image pixels', parseBox)
    .option(
      '-o, --out <file>',
      'write the mask: .png (8-bit, 255 inside) or .json (COCO RLE + score, bbox, area)',
    )
    .option('--json', 'print the result as one JSON object', false)
    .action(async (image: string, flags: SegmentFlags) => {
      if (!flags.point?.length && !flags.box) throw new UsageError('give at least one --point or a --box');
      if (flags.out && !['.png', '.json'].includes(path.extname(flags.out).toLowerCase())) {
        throw new UsageError(`--out must end in .png or .json, got "${flags.out}"`);
      }
      const engine = await SamEngine.create({
        modelDir: flags.model,
        provider: flags.provider,
        fastPath: flags.fastPath,
        cudaGraphs: flags.cudaGraphs,
        cacheDir: flags.cache ? flags.cacheDir : false,
      });
      try {
        const prompt: Prompt = {
          ...(flags.point ? { points: flags.point } : {}),
          ...(flags.box ? { box: flags.box } : {}),
        };
        const r = await engine.segment(image, prompt);
        if (flags.out) await writeMask(flags.out, r);
        const p = engine.providerInfo();
        if (flags.json) {
          const { lowRes: _lowRes, ...rest } = r;
          process.stdout.write(JSON.stringify({ ...rest, provider: p }) + '\n');
        } else {
          const t = r.timings;
          const lines = [
            `image     ${image} (${r.width}×${r.height})`,
            `provider  ${p.active}${p.fallbackReason ? ` (${p.fallbackReason})` : ''}`,
            `rle       ${r.rle.counts}`,
            `area      ${r.area}`,
            `bbox      ${r.bbox.join(',')}`,
            `score     ${r.score.toFixed(4)} (mask ${r.maskIndex})`,
            `embedding ${r.cached ? `cached (${r.cached})` : 'encoded'}`,
            `timings   read ${ms(t.read)} · decode ${ms(t.decode)} · preprocess ${ms(t.preprocess)} · encoder ${ms(t.encoder)} · decoder ${ms(t.decoder)} · postprocess ${ms(t.postprocess)} · rle ${ms(t.rle)} · total ${ms(t.total)}`,
          ];
          if (flags.out) lines.push(`wrote     ${flags.out}`);
          process.stdout.write(lines.join('\n') + '\n');
        }
      } finally {
        await engine.close();
      }
    });
}
