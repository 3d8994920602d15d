// The engine's own worker ops: embed, segment, decodeLowRes, stats.
import type { RleSummary } from '../../common/rle/index.js';
import { EngineError } from './errors.js';
import { chooseMask, LOW_RES } from './postprocess.js';
import type { ImageSource } from './protocol.js';
import type { Prompt } from './prompt.js';
import type { EncodedPrompt } from './prompt.js';
import type {
  DecodeLowResOptions,
  EmbedResult,
  LowResResult,
  ManyMasksResult,
  MaskResult,
  SegmentManyOptions,
  SegmentOptions,
} from './types.js';
import type { EmbeddingRecord } from './cache.js';
import { upscaleOnHost } from './upscale.js';
import { registerOp, type WorkerContext } from './worker-ops.js';

const PLANE = LOW_RES * LOW_RES;

registerOp<{ source: ImageSource }, EmbedResult>('embed', async (ctx, { source }) => {
  const { record, cached, timings } = await ctx.embed(source);
  const g = record.geometry;
  return {
    value: {
      key: record.key,
      width: g.width,
      height: g.height,
      orientation: record.orientation,
      cached,
      timings,
    },
  };
});

registerOp<{ source: ImageSource; prompt: Prompt; opts?: SegmentOptions }, MaskResult>(
  'segment',
  async (ctx, payload) => {
    const { record, cached, timings: t } = await ctx.embed(payload.source);
    const opts = payload.opts ?? {};
    const threshold = opts.threshold ?? 0;
    if (!Number.isFinite(threshold)) throw new EngineError('bad_prompt', 'threshold must be a finite number');
    const enc = ctx.encodePrompt(record, payload.prompt);
    const start = performance.now();
    const multimask = opts.multimask ?? enc.ambiguous;
    if (ctx.fast?.hasDecoderGraphs) {
      // Decoder, mask choice and upscaling in one GPU call; only RLE run starts come back, and the fast path
      // has already made them the RLE string, area and box (in one pass, checked on the way).
      const r = await ctx.fast.masks(record, [enc], [multimask], threshold, true);
      t.decoder = r.ms.decoder;
      t.postprocess = r.ms.post;
      t.rle = r.ms.transfer;
      t.total += performance.now() - start;
      const g = record.geometry;
      const m = r.masks[0]!;
      const lowRes = r.lowRes!;
      const value: MaskResult = {
        key: record.key,
        width: g.width,
        height: g.height,
        rle: m.rle,
        score: r.score[0]!,
        area: m.area,
        bbox: m.bbox,
        maskIndex: r.index[0]!,
        lowRes,
        cached,
        timings: t,
      };
      return { value, transfer: [lowRes.buffer as ArrayBuffer] };
    }
    const out = await ctx.decodeOne(record, enc);
    t.decoder = out.ms;
    const M = ctx.decoder.masksPerPrompt;
    const index = chooseMask(out.iou, 0, M, multimask);
    // A copy, so the transferred buffer holds one 256² plane and not the decoder's four.
    const lowRes = out.lowRes.slice(index * PLANE, (index + 1) * PLANE);
    const t0 = performance.now();
    const g = record.geometry;
    // RLE, area and box come with the upscaling (one native pass where the addon is built).
    const [m] = await upscaleOnHost(lowRes, Int32Array.of(0), g, threshold, ctx.upscaler);
    t.postprocess = performance.now() - t0;
    t.rle = 0;
    t.total += performance.now() - start;
    const value: MaskResult = {
      key: record.key,
      width: g.width,
      height: g.height,
      rle: m!.rle,
      score: out.iou[index]!,
      area: m!.area,
      bbox: m!.bbox,
      maskIndex: index,
      lowRes,
      cached,
      timings: t,
    };
    return { value, transfer: [lowRes.buffer as ArrayBuffer] };
  },
);

/** Every prompt mapped into the model's frame; a bad one is named by its index. */
function encodeAll(ctx: WorkerContext, record: EmbeddingRecord, prompts: Prompt[]): EncodedPrompt[] {
  return prompts.map((p, i) => {
    try {
      return ctx.encodePrompt(record, p);
    } catch (err) {
      if (err instanceof EngineError) throw new EngineError(err.code, `prompt ${i}: ${err.message}`);
      throw err;
    }
  });
}

registerOp<{ key: string; prompts: Prompt[]; opts?: DecodeLowResOptions }, LowResResult>(
  'decodeLowRes',
  async (ctx, payload) => {
    if (!Array.isArray(payload.prompts) || payload.prompts.length === 0) {
      throw new EngineError('bad_prompt', 'decodeLowRes needs a non-empty array of prompts');
    }
    const opts = payload.opts ?? {};
    const batch = opts.pointsPerBatch;
    if (batch !== undefined && !(Number.isInteger(batch) && batch >= 1)) {
      throw new EngineError('bad_prompt', `pointsPerBatch must be an integer ≥ 1, got ${String(batch)}`);
    }
    const { record } = await ctx.embed({ key: payload.key });
    const encoded = encodeAll(ctx, record, payload.prompts);
    const r = await ctx.decodeLowRes(record, encoded, opts.pointsPerBatch);
    const best = Int32Array.from(encoded, (e, b) =>
      chooseMask(r.iou, b * r.masksPerPrompt, r.masksPerPrompt, opts.multimask ?? e.ambiguous),
    );
    return { value: { ...r, best }, transfer: [r.iou.buffer as ArrayBuffer, r.lowRes.buffer as ArrayBuffer] };
  },
);

registerOp<{ key: string; prompts: Prompt[]; opts?: SegmentManyOptions }, ManyMasksResult>(
  'segmentMany',
  async (ctx, payload) => {
    if (!Array.isArray(payload.prompts) || payload.prompts.length === 0) {
      throw new EngineError('bad_prompt', 'segmentMany needs a non-empty array of prompts');
    }
    const opts = payload.opts ?? {};
    const threshold = opts.threshold ?? 0;
    if (!Number.isFinite(threshold)) throw new EngineError('bad_prompt', 'threshold must be a finite number');
    const batch = opts.pointsPerBatch ?? 64;
    if (!(Number.isInteger(batch) && batch >= 1 && batch <= 1024)) {
      throw new EngineError(
        'bad_prompt',
        `pointsPerBatch must be an integer in 1..1024, got ${String(batch)}`,
      );
    }
    const t0 = performance.now();
    const { record } = await ctx.embed({ key: payload.key });
    const g = record.geometry;
    const encoded = encodeAll(ctx, record, payload.prompts);
    const masks: ManyMasksResult['masks'] = [];
    const timings = { decoder: 0, postprocess: 0, rle: 0, total: 0 };
    const pushSummary = (m: RleSummary, score: number, maskIndex: number): void => {
      masks.push({ rle: m.rle, score, area: m.area, bbox: m.bbox, maskIndex });
    };
    for (let i = 0; i < encoded.length; i += batch) {
      const part = encoded.slice(i, i + batch);
      const mm = part.map((e) => opts.multimask ?? e.ambiguous);
      if (ctx.fast?.hasDecoderGraphs) {
        const r = await ctx.fast.masks(record, part, mm, threshold, false);
        timings.decoder += r.ms.decoder;
        timings.postprocess += r.ms.post;
        // String, area and box were made with the run starts (FastPath.masks); nothing is left to compute.
        part.forEach((_, b) => pushSummary(r.masks[b]!, r.score[b]!, r.index[b]!));
        timings.rle += r.ms.transfer;
        continue;
      }
      const r = await ctx.decodeLowRes(record, part, batch);
      timings.decoder += r.timings.decoder;
      const M = r.masksPerPrompt;
      const chosen = Int32Array.from(part, (_, b) => chooseMask(r.iou, b * M, M, mm[b]!));
      const t1 = performance.now();
      // The whole batch in one call: the native post-processing splits it over the cores.
      const out = await upscaleOnHost(
        r.lowRes,
        chosen.map((m, b) => b * M + m),
        g,
        threshold,
        ctx.upscaler,
      );
      timings.postprocess += performance.now() - t1;
      part.forEach((_, b) => pushSummary(out[b]!, r.iou[b * M + chosen[b]!]!, chosen[b]!));
    }
    timings.total = performance.now() - t0;
    return { value: { key: record.key, width: g.width, height: g.height, masks, timings } };
  },
);

registerOp('stats', async (ctx) => ({ value: ctx.stats() }));
