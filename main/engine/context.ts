// The worker-side engine: onnxruntime sessions, embedding caches and decoder calls. Lives only in the worker.
import { createHash } from 'node:crypto';
import ort from 'onnxruntime-node';
import {
  ByteLru,
  count,
  DiskEmbeddingCache,
  hostRecord,
  recordBytes,
  type EmbeddingRecord,
} from './cache.js';
import { EngineError, firstLine, ImageError } from './errors.js';
import { FastPath, type ResidentEncoding } from './fastpath.js';
import { embeddingFeeds, promptFeeds } from './feeds.js';
import { decodeForSam, readImageFile } from './image.js';
import { loadModelInfo, type ModelManifest } from './manifest.js';
import { LOW_RES } from './postprocess.js';
import { normalizeToTensor } from './preprocess.js';
import { encodePrompt, type EncodedPrompt, type Prompt } from './prompt.js';
import type { ImageSource, InitPayload } from './protocol.js';
import { chooseProvider, sessionOptions } from './providers.js';
import { checkDecoder, checkEncoder, type DecoderSignature, type EncoderSignature } from './signature.js';
import type { MaskUpscaler } from './ortx.js';
import type {
  EngineStats,
  FastPathInfo,
  HostUpscaleInfo,
  LowResResult,
  ProviderInfo,
  StageTimings,
} from './types.js';
import { hostUpscaler } from './upscale.js';
import type { EmbedOutcome, WorkerContext } from './worker-ops.js';

const PLANE = LOW_RES * LOW_RES;
const KEY_RE = /^[0-9a-f]{64}$/;

export function emptyTimings(): StageTimings {
  return { read: 0, decode: 0, preprocess: 0, encoder: 0, decoder: 0, postprocess: 0, rle: 0, total: 0 };
}

async function openSession(
  file: string,
  role: string,
  provider: ProviderInfo,
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(file, sessionOptions(provider));
  } catch (err) {
    const msg = firstLine(err);
    throw new EngineError('model_load_failed', `cannot load the ${role} ${file}: ${msg}`, { file, role });
  }
}

export class EngineContext implements WorkerContext {
  private readonly memory: ByteLru<EmbeddingRecord>;
  private readonly disk: DiskEmbeddingCache | null;
  private readonly inflight = new Map<string, Promise<EmbeddingRecord>>();
  private encoderRuns = 0;
  private decoderRuns = 0;

  private constructor(
    readonly model: ModelManifest,
    readonly provider: ProviderInfo,
    /** null when the fast path runs the encoder (with preprocessing in front of it). */
    private readonly encoder: ort.InferenceSession | null,
    private readonly encoderSig: EncoderSignature,
    private readonly decoderSession: ort.InferenceSession,
    readonly decoder: DecoderSignature,
    private readonly batchedSession: ort.InferenceSession | null,
    readonly batchedDecoder: DecoderSignature | null,
    readonly fast: FastPath | null,
    readonly fastPathInfo: FastPathInfo,
    readonly upscaler: MaskUpscaler | null,
    readonly upscaleInfo: HostUpscaleInfo,
    init: InitPayload,
  ) {
    this.memory = new ByteLru(init.memoryCacheBytes, recordBytes);
    this.disk = init.cacheDir ? new DiskEmbeddingCache(init.cacheDir, model.id) : null;
  }

  static async create(init: InitPayload): Promise<EngineContext> {
    const info = loadModelInfo(init.modelDir);
    const m = info.manifest;
    const provider = await chooseProvider(init.provider);
    // Before any session: a bad MASKROOM_UPSCALE fails the engine's creation with its message.
    const host = hostUpscaler();
    const encoder = await openSession(info.encoderPath, 'encoder', provider);
    const sessions: ort.InferenceSession[] = [encoder];
    try {
      const encoderSig = checkEncoder(
        m.files.encoder,
        meta(encoder.inputMetadata),
        meta(encoder.outputMetadata),
        m.inputSize,
        m.embedding.shape,
        m.highResFeatures ?? [],
      );
      const decoder = await openSession(info.decoderPath, 'decoder', provider);
      sessions.push(decoder);
      const decoderSig = checkDecoder(
        m.files.decoder,
        meta(decoder.inputMetadata),
        meta(decoder.outputMetadata),
        m.decoderFormat,
        m.embedding.shape,
        m.highResFeatures ?? [],
      );
      let batched: ort.InferenceSession | null = null;
      let batchedSig: DecoderSignature | null = null;
      if (info.decoderBatchedPath && m.files.decoderBatched) {
        batched = await openSession(info.decoderBatchedPath, 'batched decoder', provider);
        sessions.push(batched);
        batchedSig = checkDecoder(
          m.files.decoderBatched,
          meta(batched.inputMetadata),
          meta(batched.outputMetadata),
          'sam-onnx-batched',
          m.embedding.shape,
          m.highResFeatures ?? [],
        );
      } else if (m.decoderFormat === 'sam-onnx-batched') {
        [batched, batchedSig] = [decoder, decoderSig];
      }
      const { fast, info: fastInfo } = await FastPath.create(
        m,
        batched === decoder ? info.decoderPath : (info.decoderBatchedPath ?? null),
        batched,
        provider,
        init.fastPath ?? 'auto',
        { path: info.encoderPath, inputName: encoderSig.inputName },
        info.decoderAmgPath ?? null,
        init.cudaGraphs ?? 'auto',
      );
      // The fast path's encoder has the same weights: keep one copy on the device.
      if (fast?.encodes) await encoder.release();
      return new EngineContext(
        m,
        provider,
        fast?.encodes ? null : encoder,
        encoderSig,
        decoder,
        decoderSig,
        batched,
        batchedSig,
        fast,
        fastInfo,
        host.upscaler,
        host.upscaler
          ? { via: 'native', threads: host.upscaler.threads, reason: null }
          : { via: 'typescript', threads: 1, reason: host.reason },
        init,
      );
    } catch (err) {
      await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
      throw err;
    }
  }

  async embed(source: ImageSource): Promise<EmbedOutcome> {
    const t = emptyTimings();
    const t0 = performance.now();
    if ('key' in source) {
      const hit = this.lookup(source.key);
      if (!hit)
        throw new EngineError(
          'unknown_embedding',
          `no embedding with key ${source.key} in the memory or disk cache`,
        );
      t.total = performance.now() - t0;
      return { record: hit.record, cached: hit.cached, timings: t };
    }
    let bytes: Uint8Array;
    if ('path' in source) {
      if (typeof source.path !== 'string' || source.path === '')
        throw new ImageError('bad_input', 'image path must be a non-empty string');
      bytes = await readImageFile(source.path);
    } else {
      if (!(source.bytes instanceof Uint8Array))
        throw new ImageError('bad_input', 'image bytes must be a Uint8Array');
      bytes = source.bytes;
      if (bytes.length === 0) throw new ImageError('empty', 'image is empty (0 bytes)');
    }
    const key = createHash('sha256').update(bytes).digest('hex');
    t.read = performance.now() - t0;
    const hit = this.lookup(key);
    if (hit) {
      t.total = performance.now() - t0;
      return { record: hit.record, cached: hit.cached, timings: t };
    }
    // Two requests for the same new image share one encoder run.
    let pending = this.inflight.get(key);
    const owner = !pending;
    if (!pending) {
      pending = this.encode(key, bytes, t).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const record = await pending;
    t.total = performance.now() - t0;
    return { record, cached: owner ? false : 'memory', timings: t };
  }

  private lookup(key: string): { record: EmbeddingRecord; cached: 'memory' | 'disk' } | null {
    if (!KEY_RE.test(key))
      throw new EngineError('unknown_embedding', `not an embedding key: "${key}" (expected 64 hex digits)`);
    const mem = this.memory.get(key);
    if (mem) return { record: mem, cached: 'memory' };
    const disk = this.disk?.read(key);
    if (disk) {
      this.memory.set(key, disk);
      return { record: disk, cached: 'disk' };
    }
    return null;
  }

  private async encode(key: string, bytes: Uint8Array, t: StageTimings): Promise<EmbeddingRecord> {
    const m = this.model;
    let t0 = performance.now();
    const img = await decodeForSam(bytes, m.inputSize, { deferUpscale: this.fast !== null });
    t.decode = performance.now() - t0;
    t0 = performance.now();
    // Host copies now, or (graph runtime) the outputs' shapes now and their host copies when downloaded.
    let host: Record<string, { data: unknown }> | null = null;
    let resident: ResidentEncoding | null = null;
    try {
      if (this.fast?.encodes) {
        // Preprocessing runs inside the encoder's graph; its time is part of t.encoder.
        const r = await this.fast.encode(img.rgb, img.rgbWidth, img.rgbHeight, img.geometry, key);
        if ('resident' in r) resident = r.resident;
        else host = r.host;
      } else {
        const tensor = this.fast
          ? await this.fast.preprocess(img.rgb, img.rgbWidth, img.rgbHeight, img.geometry)
          : normalizeToTensor(img.rgb, img.geometry, m.normalization.mean, m.normalization.std);
        t.preprocess = performance.now() - t0;
        t0 = performance.now();
        if (!this.encoder) throw new EngineError('internal', 'no encoder session');
        host = await this.encoder.run({
          [this.encoderSig.inputName]: new ort.Tensor('float32', tensor, [1, 3, m.inputSize, m.inputSize]),
        });
      }
    } catch (err) {
      if (err instanceof EngineError || err instanceof ImageError) throw err;
      throw new EngineError('inference_failed', `encoder failed: ${(err as Error).message}`);
    }
    this.encoderRuns++;
    t.encoder = performance.now() - t0;
    const main = { name: this.encoderSig.outputName, shape: [...m.embedding.shape] };
    const extras = (m.highResFeatures ?? []).map((x) => ({ name: x.name, shape: [...x.shape] }));
    // Types and sizes checked before the record exists (from the outputs' descriptions when the host copy is
    // still to come).
    const sizeOf = (name: string): number => {
      if (resident) {
        const o = resident.outputs[name];
        return o?.type === 'float32' ? count(o.dims) : 0;
      }
      const d = host?.[name]?.data;
      return d instanceof Float32Array ? d.length : 0;
    };
    if (sizeOf(main.name) !== count(main.shape)) {
      throw new EngineError(
        'model_mismatch',
        `encoder output has ${sizeOf(main.name)} float32 values, manifest embedding shape needs ${count(main.shape)}`,
      );
    }
    for (const x of extras) {
      if (sizeOf(x.name) !== count(x.shape))
        throw new EngineError(
          'model_mismatch',
          `encoder output "${x.name}" does not have ${count(x.shape)} float32 values`,
        );
    }
    const empty = new Float32Array(0);
    const hostData = (name: string): Float32Array => (host ? (host[name]!.data as Float32Array) : empty);
    const record: EmbeddingRecord = {
      key,
      modelId: m.id,
      geometry: img.geometry,
      orientation: img.orientation,
      shape: main.shape,
      data: hostData(main.name),
      extras: extras.map((x) => ({ ...x, data: hostData(x.name) })),
    };
    if (resident) {
      record.hostReady = resident.host.then(
        (arrays) => {
          record.data = arrays[main.name]!;
          for (const x of record.extras) x.data = arrays[x.name]!;
          delete record.hostReady;
          this.persist(record);
        },
        (err: unknown) => {
          // Not kept half-made: the next request for this image encodes it again.
          this.memory.deleteIf(key, record);
          const msg = err instanceof Error ? err.message : String(err);
          throw new EngineError('inference_failed', `embedding download from the GPU failed: ${msg}`);
        },
      );
      // Whoever reads the host copy sees a failure (hostRecord()); nothing else must.
      record.hostReady.catch(() => undefined);
    }
    this.memory.set(key, record);
    if (!resident) this.persist(record);
    return record;
  }

  /** Writes the record to the disk cache, if any; a full or read-only disk must not fail segmentation. */
  private persist(record: EmbeddingRecord): void {
    try {
      this.disk?.write(record);
    } catch (err) {
      process.emitWarning(`maskroom: embedding cache write failed: ${(err as Error).message}`);
    }
  }

  encodePrompt(record: EmbeddingRecord, prompt: Prompt): EncodedPrompt {
    return encodePrompt(prompt, record.geometry);
  }

  /** One prompt through the single-prompt decoder (or the batched one with B = 1 if that is all there is). */
  async decodeOne(
    record: EmbeddingRecord,
    p: EncodedPrompt,
  ): Promise<{ iou: Float32Array; lowRes: Float32Array; ms: number }> {
    if (this.decoder.format === 'sam-onnx-batched') {
      const r = await this.runBatched(this.decoderSession, this.decoder, record, [p]);
      return { iou: r.iou, lowRes: r.lowRes, ms: r.ms };
    }
    const n = p.labels.length;
    const feeds: Record<string, ort.Tensor> = {
      ...embeddingFeeds(await hostRecord(record)),
      point_coords: new ort.Tensor('float32', p.coords, [1, n, 2]),
      point_labels: new ort.Tensor('float32', p.labels, [1, n]),
      mask_input: new ort.Tensor('float32', p.maskInput ?? new Float32Array(PLANE), [1, 1, LOW_RES, LOW_RES]),
      has_mask_input: new ort.Tensor('float32', Float32Array.of(p.maskInput ? 1 : 0), [1]),
      // Hack: the official export always computes `masks` at orig_im_size for all 4 outputs, even when only
      // the low-res outputs are fetched (onnxruntime does not prune it). We upscale the one chosen mask
      // ourselves (postprocess.ts), so give it a small size: a 12 MP photo would otherwise cost 4 × 12 M floats.
      orig_im_size: new ort.Tensor('float32', Float32Array.of(LOW_RES, LOW_RES), [2]),
    };
    const t0 = performance.now();
    let out: ort.InferenceSession.ReturnType;
    try {
      // Only the low-res outputs: the full-size upscale is done for the one chosen mask in postprocess.
      out = await this.decoderSession.run(feeds, ['iou_predictions', 'low_res_masks']);
    } catch (err) {
      throw new EngineError('inference_failed', `decoder failed: ${(err as Error).message}`);
    }
    this.decoderRuns++;
    return {
      iou: out.iou_predictions!.data as Float32Array,
      lowRes: out.low_res_masks!.data as Float32Array,
      ms: performance.now() - t0,
    };
  }

  private async runBatched(
    session: ort.InferenceSession,
    sig: DecoderSignature,
    record: EmbeddingRecord,
    prompts: EncodedPrompt[],
  ): Promise<{ iou: Float32Array; lowRes: Float32Array; ms: number }> {
    const B = prompts.length;
    const feeds: Record<string, ort.Tensor> = {
      ...embeddingFeeds(await hostRecord(record)),
      ...promptFeeds(prompts, this.fastPathInfo.broadcastMaskInput),
    };
    const t0 = performance.now();
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await session.run(feeds, ['iou_predictions', 'low_res_masks']);
    } catch (err) {
      throw new EngineError('inference_failed', `batched decoder failed: ${(err as Error).message}`);
    }
    this.decoderRuns++;
    const iou = out.iou_predictions!.data as Float32Array;
    const lowRes = out.low_res_masks!.data as Float32Array;
    if (iou.length !== B * sig.masksPerPrompt || lowRes.length !== B * sig.masksPerPrompt * PLANE) {
      throw new EngineError(
        'model_mismatch',
        `batched decoder returned ${iou.length} scores for ${B} prompts`,
      );
    }
    return { iou, lowRes, ms: performance.now() - t0 };
  }

  async decodeLowRes(
    record: EmbeddingRecord,
    prompts: EncodedPrompt[],
    pointsPerBatch = 64,
  ): Promise<Omit<LowResResult, 'best'>> {
    const useBatched = this.batchedSession && this.batchedDecoder;
    const M = (useBatched ? this.batchedDecoder : this.decoder)!.masksPerPrompt;
    const iou = new Float32Array(prompts.length * M);
    const lowRes = new Float32Array(prompts.length * M * PLANE);
    let ms = 0;
    let batches = 0;
    const chunk = useBatched ? Math.max(1, Math.floor(pointsPerBatch)) : 1;
    for (let i = 0; i < prompts.length; i += chunk) {
      const part = prompts.slice(i, i + chunk);
      const r = useBatched
        ? await this.runBatched(this.batchedSession!, this.batchedDecoder!, record, part)
        : await this.decodeOne(record, part[0]!);
      iou.set(r.iou, i * M);
      lowRes.set(r.lowRes, i * M * PLANE);
      ms += r.ms;
      batches++;
    }
    return { masksPerPrompt: M, iou, lowRes, timings: { decoder: ms, batches } };
  }

  /** The fast path as it stands now: the graph runtime's reason changes as new prompt shapes come in. */
  fastPathNow(): FastPathInfo {
    const r = this.fast?.cudaGraphsReason;
    return r === undefined ? this.fastPathInfo : { ...this.fastPathInfo, cudaGraphs: r };
  }

  stats(): EngineStats {
    return {
      encoderRuns: this.encoderRuns,
      decoderRuns: this.decoderRuns,
      memoryCache: {
        entries: this.memory.size,
        bytes: this.memory.bytes,
        budgetBytes: this.memory.budgetBytes,
      },
      diskCacheDir: this.disk?.dir ?? null,
    };
  }

  async release(): Promise<void> {
    const s = new Set(
      [this.encoder, this.decoderSession, this.batchedSession].filter((x): x is ort.InferenceSession => !!x),
    );
    await Promise.all([...s].map((x) => x.release().catch(() => undefined)));
    await this.fast?.release();
  }
}

function meta(
  list: readonly ort.InferenceSession.ValueMetadata[],
): { name: string; isTensor: boolean; type?: string; shape?: (number | string)[] }[] {
  return list.map((m) =>
    m.isTensor
      ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] }
      : { name: m.name, isTensor: false },
  );
}
