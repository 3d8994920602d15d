// `segmentation` and `models` services over the backend's one SamEngine.
import path from 'node:path';
import { AppError, contracts, type MaskCandidate, type ServiceImpl } from '../../common/contracts/index.js';
import type { z } from 'zod';
import {
  EngineError,
  geometryFor,
  LOW_RES,
  type Prompt,
  type SamEngine,
  upscaleOnHost,
} from '../engine/index.js';
import { downloadFile } from './download.js';
import type { CallContext } from './host.js';
import { samManifest, slug } from './models-store.js';
import { imageFile } from './svc-images.js';
import type { BackendState } from './state.js';

/** Runs `fn` with the image's cached embedding key, falling back to the file when the key was evicted. */
async function withImage<T>(
  s: BackendState,
  imageId: number,
  fn: (engine: SamEngine, input: string | { key: string }) => Promise<T>,
): Promise<T> {
  const { file } = imageFile(s, imageId);
  const engine = await s.engine.get();
  const key = s.engine.keys.get(imageId);
  if (key) {
    try {
      return await fn(engine, { key });
    } catch (e) {
      if (!(e instanceof EngineError && e.code === 'unknown_embedding')) throw e;
      s.engine.keys.delete(imageId);
    }
  }
  return fn(engine, file);
}

/** Parsed (defaults applied) arguments of `segmentation.segment`. */
type SegmentArgs = z.output<typeof contracts.segmentation.methods.segment.args>;

export function segmentationService(
  s: BackendState,
): ServiceImpl<typeof contracts.segmentation, CallContext> {
  let prefetchChain: Promise<void> = Promise.resolve();
  const queued = new Set<number>();
  // The engine's worker runs requests in arrival order, so prefetching yields to interactive calls: at most
  // one prefetch embedding is in flight, and the next one starts only when no click is waiting.
  let interactive = 0;
  let idleWaiters: (() => void)[] = [];
  const idle = (): Promise<void> =>
    interactive === 0 ? Promise.resolve() : new Promise((r) => idleWaiters.push(r));
  const foreground = async <T>(fn: () => Promise<T>): Promise<T> => {
    interactive++;
    try {
      return await fn();
    } finally {
      interactive--;
      if (interactive === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  };

  const prepare = async (imageId: number) => {
    const r = await withImage(s, imageId, (engine, input) => engine.embed(input));
    const fresh = !s.engine.keys.has(imageId) || r.cached === false;
    s.engine.keys.set(imageId, r.key);
    const ready = { imageId, ms: r.cached === false ? r.timings.total : 0, cached: r.cached !== false };
    if (fresh) s.bus.emit('segmentation', 'embeddingReady', ready);
    return ready;
  };

  const segment = async ({ imageId, points, box, maskInputId, multimask }: SegmentArgs) => {
    const started = Date.now();
    const { image } = imageFile(s, imageId);
    const prompt: Prompt = { points };
    if (box) prompt.box = [box.x0, box.y0, box.x1, box.y1];
    if (maskInputId) prompt.maskInput = s.engine.lowResFor(maskInputId, imageId);
    for (const pt of points) {
      if (pt.x < 0 || pt.y < 0 || pt.x > image.width || pt.y > image.height) {
        throw new AppError(
          'INVALID_ARGUMENT',
          `point (${pt.x}, ${pt.y}) is outside the ${image.width}×${image.height} image`,
        );
      }
    }
    const hadKey = s.engine.keys.has(imageId);
    let candidates: MaskCandidate[];
    if (!multimask) {
      const r = await withImage(s, imageId, (engine, input) => engine.segment(input, prompt));
      s.engine.keys.set(imageId, r.key);
      if (!hadKey)
        s.bus.emit('segmentation', 'embeddingReady', { imageId, ms: 0, cached: r.cached !== false });
      candidates = [
        {
          rle: r.rle,
          score: r.score,
          bbox: r.bbox,
          area: r.area,
          lowResId: s.engine.keepLowRes(imageId, r.lowRes),
        },
      ];
    } else {
      if (!hadKey) await prepare(imageId);
      const key = s.engine.keys.get(imageId)!;
      const engine = await s.engine.get();
      const low = await engine.decodeLowRes(key, [prompt], { multimask: true });
      const g = geometryFor(image.width, image.height, engine.model.inputSize);
      const order = Array.from({ length: low.masksPerPrompt }, (_, m) => m)
        .filter((m) => low.masksPerPrompt === 1 || m > 0)
        .sort((a, b) => low.iou[b]! - low.iou[a]!);
      // Off this (main) thread: the native post-processing runs on the thread pool.
      const masks = await upscaleOnHost(low.lowRes, Int32Array.from(order), g, 0);
      candidates = order.map((m, k) => {
        const logits = low.lowRes.slice(m * LOW_RES * LOW_RES, (m + 1) * LOW_RES * LOW_RES);
        const { rle, bbox, area } = masks[k]!;
        return { rle, score: low.iou[m]!, bbox, area, lowResId: s.engine.keepLowRes(imageId, logits) };
      });
    }
    return { imageId, candidates, ms: Date.now() - started };
  };

  return {
    prepare: ({ imageId }) => foreground(() => prepare(imageId)),
    segment: (args) => foreground(() => segment(args)),
    prefetch({ imageIds }) {
      const p = s.requireProject();
      let n = 0;
      for (const id of imageIds) {
        if (s.engine.keys.has(id) || queued.has(id) || !p.images.getImage(id)) continue;
        queued.add(id);
        n++;
        prefetchChain = prefetchChain.then(async () => {
          try {
            await idle();
            if (s.project === p && !s.engine.keys.has(id)) await prepare(id);
          } catch (e) {
            s.log(`prefetch of image ${id} failed: ${e instanceof Error ? e.message : String(e)}`);
          } finally {
            queued.delete(id);
          }
        });
      }
      return { queued: n };
    },
  };
}

export function modelsService(s: BackendState): ServiceImpl<typeof contracts.models, CallContext> {
  const emit = (): void => s.bus.emit('models', 'changed', s.models.list());
  return {
    list: () => s.models.list(),
    importFolder({ dir, name }) {
      const folder = s.guard.confine(dir, { mustExist: 'dir', what: 'model folder' });
      const m = s.models.importFolder(folder, name);
      emit();
      return m;
    },
    importPair({ encoderPath, decoderPath, name }) {
      const enc = s.guard.confine(encoderPath, { mustExist: 'file', what: 'encoder' });
      const dec = s.guard.confine(decoderPath, { mustExist: 'file', what: 'decoder' });
      const m = s.models.importPair(enc, dec, name);
      emit();
      return m;
    },
    download({ name, encoder, decoder, decoderBatched }) {
      // Part files live in a folder named after the model so a retry of the same download resumes them.
      const partsDir = path.join(s.models.modelsDir, '.downloads', slug(name));
      const parts = [
        { file: 'encoder.onnx', ...encoder },
        { file: 'decoder.onnx', ...decoder },
        ...(decoderBatched ? [{ file: 'decoder_batched.onnx', ...decoderBatched }] : []),
      ];
      return s.jobs.start('modelDownload', `downloading ${name}`, async (ctl) => {
        const { mkdirSync } = await import('node:fs');
        mkdirSync(partsDir, { recursive: true });
        const sizes = parts.map(() => 0);
        const totals: (number | null)[] = parts.map(() => null);
        for (let i = 0; i < parts.length; i++) {
          await ctl.checkpoint();
          const part = parts[i]!;
          await downloadFile(part.url, path.join(partsDir, part.file), {
            sha256: part.sha256,
            signal: ctl.signal,
            onProgress: (received, total) => {
              sizes[i] = received;
              totals[i] = total;
              const all = totals.every((t) => t !== null)
                ? totals.reduce<number>((a, t) => a + (t ?? 0), 0)
                : null;
              ctl.progress(
                sizes.reduce((a, b) => a + b, 0),
                all,
                part.file,
              );
            },
          });
        }
        const files: Record<string, string> = {};
        for (const part of parts) files[part.file] = path.join(partsDir, part.file);
        const m = s.models.install(
          name,
          files,
          (id) =>
            samManifest(id, name, {
              encoder: 'encoder.onnx',
              decoder: 'decoder.onnx',
              ...(decoderBatched ? { decoderBatched: 'decoder_batched.onnx' } : {}),
            }),
          'downloaded',
          true,
        );
        emit();
        return `installed ${m.id}`;
      });
    },
    async setActive({ id }) {
      s.models.get(id);
      const info = await s.engine.setActive(id);
      s.project?.settings.setActiveModel({ modelId: id });
      emit();
      return info;
    },
    providerInfo: () => s.engine.providerInfo(),
  };
}
