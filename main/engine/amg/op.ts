// The worker-side `amg` op: automatic mask generation and boxes → masks, run next to the ONNX sessions so
// the caller's event loop stays free and only RLE strings cross the thread boundary. The algorithm itself
// is common/amg (pure); this file binds it to the engine's embedding cache and decoders.
import sharp from 'sharp';
import { countsToString } from '../../../common/rle/index.js';
import {
  generateMasks,
  type AmgBackend,
  type AmgDecoded,
  type AmgSurvivors,
} from '../../../common/amg/generate.js';
import { lowResBox } from '../../../common/amg/stability.js';
import { parseAmgOptions } from '../../../common/amg/types.js';
import { LOW_RES, MaskUpscaler } from '../../../common/amg/upscale.js';
import type { BoxXyxy } from '../../../common/amg/types.js';
import type { EmbeddingRecord } from '../cache.js';
import { EngineError } from '../errors.js';
import type { ImageSource } from '../protocol.js';
import type { EncodedPrompt } from '../prompt.js';
import { registerOp, type WorkerContext } from '../worker-ops.js';
import type { AmgOpPayload, AmgOpResult, BoxMask, DecoderChoice } from './types.js';

const PLANE = LOW_RES * LOW_RES;

// EngineContext has decodeOne (the official single-prompt decoder) but WorkerContext does not declare it;
// the one-prompt-per-call path needs it, so it is looked up here rather than widening the engine's interface.
interface SingleDecoder {
  decodeOne(record: EmbeddingRecord, p: EncodedPrompt): Promise<{ iou: Float32Array; lowRes: Float32Array }>;
}
function singleDecoder(ctx: WorkerContext): SingleDecoder {
  const d = (ctx as Partial<SingleDecoder>).decodeOne;
  if (typeof d !== 'function')
    throw new EngineError('internal', 'this engine cannot decode one prompt per call');
  return { decodeOne: d.bind(ctx) };
}

/** Decodes prompts with the chosen decoder; always 4 masks per prompt (SAM's multimask export). */
async function decodePrompts(
  ctx: WorkerContext,
  record: EmbeddingRecord,
  prompts: EncodedPrompt[],
  decoder: DecoderChoice,
  batch: number,
): Promise<AmgDecoded> {
  if (decoder === 'batched' && !ctx.batchedDecoder) {
    throw new EngineError(
      'model_mismatch',
      `model ${ctx.model.id} has no batched decoder; use decoder "single" or "auto"`,
    );
  }
  const useBatched = decoder === 'batched' || (decoder === 'auto' && ctx.batchedDecoder !== null);
  if (useBatched) {
    const r = await ctx.decodeLowRes(record, prompts, batch);
    if (r.masksPerPrompt !== 4)
      throw new EngineError(
        'model_mismatch',
        `AMG needs a decoder with 4 masks per prompt, this one has ${r.masksPerPrompt}`,
      );
    return r;
  }
  const single = singleDecoder(ctx);
  if (ctx.decoder.masksPerPrompt !== 4)
    throw new EngineError(
      'model_mismatch',
      `AMG needs a decoder with 4 masks per prompt, this one has ${ctx.decoder.masksPerPrompt}`,
    );
  const iou = new Float32Array(prompts.length * 4);
  const lowRes = new Float32Array(prompts.length * 4 * PLANE);
  for (let i = 0; i < prompts.length; i++) {
    const r = await single.decodeOne(record, prompts[i]!);
    iou.set(r.iou.subarray(0, 4), i * 4);
    lowRes.set(r.lowRes.subarray(0, 4 * PLANE), i * 4 * PLANE);
  }
  return { iou, lowRes };
}

// The crop of the displayed image (EXIF orientation applied, as the encoder sees it), as lossless PNG bytes
// so the engine embeds (and caches) it like any image.
async function cropBytes(source: ImageSource, crop: BoxXyxy): Promise<Uint8Array> {
  if ('key' in source)
    throw new EngineError(
      'bad_prompt',
      'crop layers need the image itself (a path or bytes), not an embedding key',
    );
  const input = 'path' in source ? source.path : source.bytes;
  const [x0, y0, x1, y1] = crop;
  return sharp(input, { limitInputPixels: false })
    .rotate()
    .extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

async function runGenerate(
  ctx: WorkerContext,
  p: Extract<AmgOpPayload, { kind: 'generate' }>,
): Promise<AmgOpResult> {
  const options = parseAmgOptions(p.options);
  const decoder = p.decoder ?? 'auto';
  const t0 = performance.now();
  const full = await ctx.embed(p.source);
  const embedMs = performance.now() - t0;
  const { width: imW, height: imH } = full.record.geometry;
  let record = full.record;
  let cropEmbedMs = 0;
  // On the fast path the decoder graph filters candidates on the GPU and only survivors come back.
  const fast = decoder !== 'single' && ctx.fast?.hasDecoderGraphs ? ctx.fast : null;
  let region = new MaskUpscaler(imH, imW).region;
  const backend: AmgBackend = {
    maxBatch:
      decoder === 'single' || (decoder === 'auto' && !ctx.batchedDecoder) ? 1 : options.pointsPerBatch,
    async setCrop(crop) {
      region = new MaskUpscaler(crop[3] - crop[1], crop[2] - crop[0]).region;
      if (crop[0] === 0 && crop[1] === 0 && crop[2] === imW && crop[3] === imH) {
        record = full.record;
        return;
      }
      const c0 = performance.now();
      record = (await ctx.embed({ bytes: await cropBytes(p.source, crop) })).record;
      cropEmbedMs += performance.now() - c0;
    },
    async decode(points) {
      const prompts: EncodedPrompt[] = [];
      for (let k = 0; k < points.length; k += 2) {
        prompts.push(ctx.encodePrompt(record, { points: [{ x: points[k]!, y: points[k + 1]!, label: 1 }] }));
      }
      if (fast) {
        const s = await fast.amgSurvivors(record, prompts, region, options);
        const survivors: AmgSurvivors = { kind: 'survivors', ...s };
        return survivors;
      }
      // One decoder call per backend call: the generator already sized the batch.
      return decodePrompts(ctx, record, prompts, decoder, prompts.length);
    },
    ...(fast && {
      // Called by the generator for the whole-image crop only, i.e. with `record` the full image.
      upscale: (planes: Float32Array, n: number, threshold: number) =>
        fast.upscale(planes, n, record.geometry, threshold),
    }),
  };
  const t1 = performance.now();
  const { masks, stats } = await generateMasks(imH, imW, options, backend, { now: () => performance.now() });
  return {
    kind: 'generate',
    key: full.record.key,
    width: imW,
    height: imH,
    masks,
    stats,
    timings: {
      embed: embedMs,
      cropEmbed: cropEmbedMs,
      generate: performance.now() - t1 - cropEmbedMs,
      total: performance.now() - t0,
    },
  };
}

async function runBoxes(
  ctx: WorkerContext,
  p: Extract<AmgOpPayload, { kind: 'boxes' }>,
): Promise<AmgOpResult> {
  if (!Array.isArray(p.boxes))
    throw new EngineError('bad_prompt', 'boxes must be an array of [x0, y0, x1, y1]');
  const t0 = performance.now();
  const { record } = await ctx.embed(p.source);
  const { width: imW, height: imH } = record.geometry;
  const up = new MaskUpscaler(imH, imW);
  const decoder = p.decoder ?? 'auto';
  const batch = Math.max(1, Math.min(1024, Math.floor(p.pointsPerBatch ?? 64)));
  const threshold = p.maskThreshold ?? 0;
  const out: BoxMask[] = [];
  for (let b0 = 0; b0 < p.boxes.length; b0 += batch) {
    const part = p.boxes.slice(b0, b0 + batch);
    const prompts = part.map((box, i) => {
      try {
        return ctx.encodePrompt(record, { box });
      } catch (err) {
        if (err instanceof EngineError) throw new EngineError(err.code, `box ${b0 + i}: ${err.message}`);
        throw err;
      }
    });
    if (decoder !== 'single' && ctx.fast?.hasDecoderGraphs) {
      // A box is not ambiguous: output 0, chosen and upscaled on the GPU.
      const r = await ctx.fast.masks(
        record,
        prompts,
        new Array<boolean>(prompts.length).fill(false),
        threshold,
        false,
      );
      r.masks.forEach((m, i) => {
        out.push({ rle: m.area > 0 ? m.rle : null, predictedIou: r.score[i]!, area: m.area });
      });
      continue;
    }
    const r = await decodePrompts(ctx, record, prompts, decoder, batch);
    for (let i = 0; i < part.length; i++) {
      // A box is not ambiguous: SAM's predictor takes the single-mask output 0 (multimask_output=False).
      const start = i * 4 * PLANE;
      const lb = lowResBox(r.lowRes, start, up.region, threshold);
      const box = lb && up.box(r.lowRes, start, threshold, lb);
      if (!box) {
        out.push({ rle: null, predictedIou: r.iou[i * 4]!, area: 0 });
        continue;
      }
      const { counts, area } = up.rleCounts(r.lowRes, start, threshold, box, { imH, imW, offX: 0, offY: 0 });
      out.push({
        rle: { size: [imH, imW], counts: countsToString(counts) },
        predictedIou: r.iou[i * 4]!,
        area,
      });
    }
  }
  return {
    kind: 'boxes',
    key: record.key,
    width: imW,
    height: imH,
    masks: out,
    timings: { total: performance.now() - t0 },
  };
}

registerOp<AmgOpPayload, AmgOpResult>('amg', async (ctx, payload) => {
  if (!payload || typeof payload !== 'object') throw new EngineError('bad_prompt', 'amg op needs a payload');
  if (payload.kind === 'generate') return { value: await runGenerate(ctx, payload) };
  if (payload.kind === 'boxes') return { value: await runBoxes(ctx, payload) };
  throw new EngineError(
    'bad_prompt',
    `unknown amg request kind "${String((payload as { kind?: unknown }).kind)}"`,
  );
});
