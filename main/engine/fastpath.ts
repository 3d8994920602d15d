// The GPU fast path: extra onnxruntime sessions built from graphs.ts so that per-pixel work runs where the
// model runs and only small results cross to JS. onnxruntime-node has no IO binding for CUDA, so every session
// boundary is a device↔host copy; the fragments are therefore appended to the decoder itself:
//   preprocess  8-bit RGB (original size when upscaling) → normalized, padded encoder input
//   masks       batched decoder + SAM's mask choice + postprocess_masks → RLE run starts → RLE, area, box
//   amg         batched decoder + predicted-IoU/stability prefilter → survivors' logits only
//               (on the graph runtime's device when it runs, reading the resident embedding)
//   upscale     standalone postprocess_masks for logits already on the CPU (AMG survivors after NMS)
// Used on CUDA by default (`fastPath: 'auto'`); `'on'` forces it on CPU too (tests, and CPU machines where
// it measures faster). Any failure to build it leaves the plain path in place, with the reason reported.
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import type { RleSummary } from '../../common/rle/index.js';
import { count, hostRecord, type EmbeddingRecord } from './cache.js';
import { EngineError, firstLine } from './errors.js';
import { embeddingFeeds, hostEmbeddingFeeds, hostFeeds, i64, promptFeeds } from './feeds.js';
import { GraphRuntime } from './graphrun.js';
import { turboJpegReason } from './image.js';
import {
  addAmgPrefilter,
  addMaskChoice,
  AMG_DECODER,
  addPostprocess,
  AMG,
  encoderWithPreprocess,
  GraphBuilder,
  masksFromChanges,
  MIN_OPSET,
  POST,
  postprocessModel,
  PRE,
  preprocessModel,
} from './graphs.js';
import type { ModelManifest } from './manifest.js';
import { hasExternalData, readModelInfo, withoutGraphInputs } from './onnx-rewrite.js';
import type { DeviceTensor } from './ortx.js';
import { LOW_RES } from './postprocess.js';
import type { ImageGeometry } from './preprocess.js';
import type { EncodedPrompt } from './prompt.js';
import { sessionOptions } from './providers.js';
import type { CudaGraphsChoice, FastPathChoice, FastPathInfo, ProviderInfo } from './types.js';

const PLANE = LOW_RES * LOW_RES;

/** Where the post-processing maps a plane: resized frame rows × cols, then the original height × width. */
export interface UpscaleFrame {
  resizedHeight: number;
  resizedWidth: number;
  height: number;
  width: number;
}

/** Chosen masks of a batch over height × width: compressed COCO RLE, area and box of each. */
export interface FastMasks {
  index: Int32Array;
  score: Float32Array;
  masks: RleSummary[];
  /** The chosen 256² plane of each prompt, [B × 256²] (only when asked for). */
  lowRes: Float32Array | null;
  /**
   * decoder: the decoder's run; post: mask choice, upscaling and run starts where they run apart from it (the
   * graph runtime's post-processing session; 0 where one session does both); transfer: the outputs made
   * into masks (RLE string, area, box).
   */
  ms: { decoder: number; post: number; transfer: number };
}

/** Encoder outputs kept on the device: their types and shapes now, their host copies when downloaded. */
export interface ResidentEncoding {
  outputs: Record<string, Pick<DeviceTensor, 'type' | 'dims'>>;
  /** float32 arrays by output name (the caller checks the types in `outputs` first). */
  host: Promise<Record<string, Float32Array>>;
}

/** Candidates that passed the AMG prefilter. */
export interface FastSurvivors {
  prompt: Int32Array;
  mask: Int32Array;
  iou: Float32Array;
  lowRes: Float32Array;
}

async function open(bytes: Uint8Array, role: string, provider: ProviderInfo): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(provider));
  } catch (err) {
    const msg = firstLine(err);
    throw new EngineError('model_load_failed', `fast path: cannot build the ${role}: ${msg}`);
  }
}

/**
 * The encoder rebuilt with preprocessing in front, or why not. Its weights are copied, never parsed; a
 * model whose weights sit in an external file keeps the separate preprocessing graph (its data paths are
 * relative to the file, which rewritten bytes no longer are).
 */
async function openEncoderWithPreprocess(
  m: ModelManifest,
  encoder: EncoderSource | null,
  provider: ProviderInfo,
): Promise<{ session: ort.InferenceSession | null; reason: string | null }> {
  if (!encoder) return { session: null, reason: 'no encoder given' };
  try {
    const bytes = new Uint8Array(readFileSync(encoder.path));
    if (hasExternalData(bytes)) {
      return { session: null, reason: 'the encoder keeps its weights in an external data file' };
    }
    const { mean, std } = m.normalization;
    const fused = encoderWithPreprocess(bytes, encoder.inputName, m.inputSize, mean, std);
    return { session: await open(fused, 'encoder with preprocessing', provider), reason: null };
  } catch (err) {
    return { session: null, reason: (err as Error).message };
  }
}

/** The post-processing outputs as masks; a malformed answer is the session's failure, not the caller's. */
function summaries(out: Record<string, { data: unknown }>, height: number, width: number): RleSummary[] {
  try {
    return masksFromChanges(
      out[POST.first]!.data as Uint8Array,
      out[POST.runs]!.data as Int32Array,
      out[POST.changes]!.data as Int32Array,
      height,
      width,
    );
  } catch (err) {
    throw new EngineError('inference_failed', `fast path: ${(err as Error).message}`);
  }
}

/**
 * The AMG prefilter on the model's decoder_amg.onnx when it has a fitting one (only prompts that can pass the
 * IoU filter are upscaled), else on the batched decoder; with the reason decoder_amg is not used. Model bytes:
 * the caller opens them where the embeddings are (the graph runtime's device, else onnxruntime-node).
 */
function amgModel(batched: Uint8Array, amgPath: string | null): { model: Uint8Array; reason: string | null } {
  let reason = 'the model has no AMG decoder (manifest files.decoderAmg)';
  if (amgPath) {
    try {
      const bytes = new Uint8Array(readFileSync(amgPath));
      const info = readModelInfo(bytes);
      const outs = ['iou_predictions', AMG_DECODER.promptIndex, 'low_res_masks'];
      if (!info.inputs.includes(AMG_DECODER.threshold) || !outs.every((n) => info.outputs.includes(n))) {
        throw new Error(`needs input ${AMG_DECODER.threshold} and outputs ${outs.join(', ')}`);
      }
      if (hasExternalData(bytes)) throw new Error('its weights are in an external data file');
      const g = new GraphBuilder('maskroom_a_');
      addAmgPrefilter(g, 'low_res_masks', 'iou_predictions', true);
      return { model: withoutGraphInputs(bytes, [AMG_DECODER.threshold], g.graphField()), reason: null };
    } catch (err) {
      reason = `AMG decoder not used: ${firstLine(err)}`;
    }
  }
  const g = new GraphBuilder('maskroom_a_');
  addAmgPrefilter(g, 'low_res_masks', 'iou_predictions');
  return { model: g.appendTo(batched), reason };
}

/** The plain encoder as the fast path may rebuild it: its file and its image input's name. */
export interface EncoderSource {
  path: string;
  inputName: string;
}

export class FastPath {
  private constructor(
    private readonly pre: ort.InferenceSession | null,
    /** The encoder with preprocessing in front (inputs PRE.rgb / PRE.sizes), when it could be built. */
    private readonly encoderSession: ort.InferenceSession | null,
    private readonly upscaler: ort.InferenceSession,
    private readonly masksSession: ort.InferenceSession | null,
    private readonly amgSession: ort.InferenceSession | null,
    readonly broadcastMaskInput: boolean,
    /**
     * Whether AMG calls send one shared zero mask plane: always on decoder_amg.onnx, whose contract has
     * mask_input [1,1,256,256] (its exports rely on it to share layer-1 work), else when the probe allows.
     */
    private readonly amgSharedMask: boolean,
    /** Encoder and batched decoder as CUDA graphs (ortx), when built. */
    private readonly graphs: GraphRuntime | null,
  ) {}

  /**
   * Builds the fast-path sessions for a model, or explains why not. Never throws: the plain path keeps
   * working whatever happens here.
   */
  static async create(
    m: ModelManifest,
    batchedPath: string | null,
    plainBatched: ort.InferenceSession | null,
    provider: ProviderInfo,
    choice: FastPathChoice,
    encoder: EncoderSource | null = null,
    amgPath: string | null = null,
    cudaGraphs: CudaGraphsChoice = 'off',
  ): Promise<{ fast: FastPath | null; info: FastPathInfo }> {
    const off = (reason: string): { fast: null; info: FastPathInfo } => ({
      fast: null,
      info: {
        active: false,
        reason,
        broadcastMaskInput: false,
        encoderPreprocess: reason,
        amgDecoder: reason,
        amgResident: false,
        amgResidentReason: reason,
        cudaGraphs: reason,
        imageDecode: reason,
        postprocess: null,
      },
    });
    if (choice === 'off') return off('turned off (fastPath: "off")');
    if (choice === 'auto' && provider.active !== 'cuda')
      return off('CPU provider: the fast path is used on CUDA unless fastPath is "on"');
    const made: ort.InferenceSession[] = [];
    let g: { runtime: GraphRuntime | null; reason: string } = {
      runtime: null,
      reason: 'needs the encoder and a batched decoder',
    };
    try {
      const up = await open(postprocessModel(m.inputSize, MIN_OPSET), 'post-processing graph', provider);
      made.push(up);
      let masks: ort.InferenceSession | null = null;
      let amg: ort.InferenceSession | null = null;
      let broadcast = false;
      let amgReason: string | null = 'no batched decoder';
      let residentReason: string | null = 'no batched decoder';
      if (batchedPath && plainBatched) {
        const bytes = new Uint8Array(readFileSync(batchedPath));
        const info = readModelInfo(bytes);
        const names = ['low_res_masks', 'iou_predictions'];
        if (info.opset < MIN_OPSET || !names.every((n) => info.outputs.includes(n))) {
          throw new EngineError(
            'model_mismatch',
            `fast path: the batched decoder needs opset ≥ ${MIN_OPSET} and outputs ${names.join(', ')}`,
          );
        }
        if (encoder) {
          g = await GraphRuntime.create(
            m,
            { encoderPath: encoder.path, encoderInput: encoder.inputName, batchedPath },
            provider,
            cudaGraphs,
          );
        }
        // With the graph runtime, its decoder serves masks(): a second decoder would only take device memory.
        if (!g.runtime) {
          const gm = new GraphBuilder('maskroom_m_');
          addPostprocess(gm, addMaskChoice(gm, 'low_res_masks', 'iou_predictions'), m.inputSize);
          masks = await open(gm.appendTo(bytes), 'decoder with post-processing', provider);
          made.push(masks);
        }
        const a = amgModel(bytes, amgPath);
        amgReason = a.reason;
        // On the graph runtime's device the AMG decoder reads the resident embedding (SAM 2's 16 MB are
        // not uploaded again); no CUDA graph, as its outputs' sizes depend on the data.
        residentReason = g.runtime ? await g.runtime.attachAmg(a.model) : g.reason;
        if (residentReason !== null) {
          const role =
            amgReason === null ? 'AMG decoder with the prefilter' : 'decoder with the AMG prefilter';
          amg = await open(a.model, role, provider);
          made.push(amg);
        }
        broadcast = await probeBroadcast(plainBatched, m);
      }
      // The graph runtime preprocesses on the device in front of its own encoder: no second session.
      const pre = g.runtime
        ? null
        : await open(
            preprocessModel(m.inputSize, m.normalization.mean, m.normalization.std, MIN_OPSET),
            'preprocessing graph',
            provider,
          );
      if (pre) made.push(pre);
      // The graph runtime has its own encoder: a second copy of the weights would only take device memory.
      const fused = g.runtime
        ? { session: null, reason: null }
        : await openEncoderWithPreprocess(m, encoder, provider);
      if (fused.session) made.push(fused.session);
      // amgReason is null only when decoder_amg was opened (here or beside the graph runtime).
      const amgShared = broadcast || amgReason === null;
      const fast = new FastPath(pre, fused.session, up, masks, amg, broadcast, amgShared, g.runtime);
      const reason =
        masks || g.runtime
          ? null
          : 'no batched decoder: only preprocessing and upscaling run on the fast path';
      return {
        fast,
        info: {
          active: true,
          reason,
          broadcastMaskInput: broadcast,
          encoderPreprocess: fused.reason,
          amgDecoder: amgReason,
          amgResident: residentReason === null,
          amgResidentReason: residentReason,
          cudaGraphs: g.runtime ? g.runtime.reason : g.reason,
          imageDecode: turboJpegReason(),
          postprocess: g.runtime ? g.runtime.postprocess : masks ? 'decoder' : null,
        },
      };
    } catch (err) {
      g.runtime?.release();
      await Promise.all(made.map((s) => s.release().catch(() => undefined)));
      return off((err as Error).message);
    }
  }

  get hasDecoderGraphs(): boolean {
    return (
      (this.masksSession !== null || this.graphs !== null) &&
      (this.amgSession !== null || this.graphs?.hasAmg === true)
    );
  }

  /** The graph runtime's current reason (null: every graph so far captured); undefined without it. */
  get cudaGraphsReason(): string | null | undefined {
    return this.graphs ? this.graphs.reason : undefined;
  }

  /** Whether `encode` runs the encoder itself (preprocessing fused in front of it). */
  get encodes(): boolean {
    return this.encoderSession !== null || this.graphs !== null;
  }

  /**
   * Encoder outputs from 8-bit RGB of rgbWidth × rgbHeight in one run (needs `encodes`). With the graph
   * runtime they stay on the device under `key` and come back as `resident`: their types and shapes now,
   * their host copies (float32, as the caller checks from the types) when the downloads end, so that a
   * decoder call can start on the device copy meanwhile.
   */
  async encode(
    rgb: Uint8Array,
    rgbWidth: number,
    rgbHeight: number,
    g: ImageGeometry,
    /** The embedding's key: the graph runtime keeps recent embeddings on the device under it. */
    key: string,
  ): Promise<{ host: ort.InferenceSession.ReturnType } | { resident: ResidentEncoding }> {
    if (this.graphs) {
      const r = await this.graphs.encode(rgb, rgbWidth, rgbHeight, g, key);
      const host = r.host.then((out) =>
        Object.fromEntries(Object.entries(out).map(([name, t]) => [name, t.data as Float32Array])),
      );
      return { resident: { outputs: r.outputs, host } };
    }
    if (!this.encoderSession) throw new EngineError('internal', 'fast path has no encoder');
    return { host: await this.encoderSession.run(this.preFeeds(rgb, rgbWidth, rgbHeight, g)) };
  }

  private preFeeds(rgb: Uint8Array, rgbWidth: number, rgbHeight: number, g: ImageGeometry) {
    return {
      [PRE.rgb]: new ort.Tensor('uint8', rgb, [rgbHeight, rgbWidth, 3]),
      [PRE.sizes]: i64([g.resizedHeight, g.resizedWidth]),
    };
  }

  /** Encoder input from 8-bit RGB of rgbWidth × rgbHeight, resized on the way to the geometry's size. */
  async preprocess(
    rgb: Uint8Array,
    rgbWidth: number,
    rgbHeight: number,
    g: ImageGeometry,
  ): Promise<Float32Array> {
    if (!this.pre)
      throw new EngineError('internal', 'the graph runtime encodes: no standalone preprocessing');
    const out = await this.pre.run(this.preFeeds(rgb, rgbWidth, rgbHeight, g));
    return out[PRE.image]!.data as Float32Array;
  }

  /** Each prompt's chosen mask (SAM's rule per `multimask`), full resolution, as RLE, area and box. */
  async masks(
    record: EmbeddingRecord,
    prompts: EncodedPrompt[],
    multimask: boolean[],
    threshold: number,
    withLowRes: boolean,
  ): Promise<FastMasks> {
    if (!this.masksSession && !this.graphs)
      throw new EngineError('internal', 'fast path has no decoder graphs');
    const g = record.geometry;
    const fetches: string[] = [POST.index, POST.score, POST.first, POST.runs, POST.changes];
    if (withLowRes) fetches.push(POST.chosen);
    const t0 = performance.now();
    let out: Record<string, { data: unknown }>;
    let decoderMs: number | null = null;
    // Already made on the host (the graph runtime with MASKROOM_ORTX_POST=host).
    let made: RleSummary[] | undefined;
    try {
      if (this.graphs) {
        const r = await this.graphs.masks(
          record.key,
          () => hostEmbeddingFeeds(record),
          hostFeeds(promptFeeds(prompts, this.broadcastMaskInput)),
          multimask,
          [g.resizedHeight, g.resizedWidth, g.height, g.width],
          threshold,
          withLowRes,
        );
        out = r.outputs;
        decoderMs = r.decoderMs;
        made = r.masks;
      } else {
        out = await this.masksSession!.run(
          {
            ...embeddingFeeds(await hostRecord(record)),
            ...promptFeeds(prompts, this.broadcastMaskInput),
            [POST.multimask]: new ort.Tensor('bool', Uint8Array.from(multimask, Number), [prompts.length]),
            [POST.sizes]: i64([g.resizedHeight, g.resizedWidth, g.height, g.width]),
            [POST.threshold]: new ort.Tensor('float32', Float32Array.of(threshold), [1]),
          },
          fetches,
        );
      }
    } catch (err) {
      throw new EngineError('inference_failed', `decoder (fast path) failed: ${(err as Error).message}`);
    }
    const t1 = performance.now();
    const masks = made ?? summaries(out, g.height, g.width);
    return {
      index: out[POST.index]!.data as Int32Array,
      score: out[POST.score]!.data as Float32Array,
      masks,
      // ortx hands outputs over as external ArrayBuffers, which postMessage cannot transfer (Node ≥ 21 throws):
      // the plane the worker sends back is a copy in JS memory (256 KB a prompt).
      lowRes: withLowRes
        ? this.graphs
          ? (out[POST.chosen]!.data as Float32Array).slice()
          : (out[POST.chosen]!.data as Float32Array)
        : null,
      ms: {
        decoder: decoderMs ?? t1 - t0,
        post: decoderMs === null ? 0 : t1 - t0 - decoderMs,
        transfer: performance.now() - t1,
      },
    };
  }

  /**
   * AMG candidates (outputs 1..3) with predicted IoU > iouThresh and stability ≥ stabilityThresh over the
   * low-res region rows × cols. Thresholds ≤ 0 disable a filter, as in common/amg.
   */
  async amgSurvivors(
    record: EmbeddingRecord,
    prompts: EncodedPrompt[],
    region: { h: number; w: number },
    o: {
      predIouThresh: number;
      stabilityScoreThresh: number;
      maskThreshold: number;
      stabilityScoreOffset: number;
    },
  ): Promise<FastSurvivors> {
    const onDevice = this.graphs?.hasAmg === true;
    if (!this.amgSession && !onDevice) throw new EngineError('internal', 'fast path has no decoder graphs');
    // The generator re-checks survivors exactly in JS; the small margin keeps float rounding on the GPU
    // from dropping a candidate JS would keep.
    const tIou = o.predIouThresh > 0 ? o.predIouThresh - 1e-6 : -Infinity;
    const tStab = o.stabilityScoreThresh > 0 ? o.stabilityScoreThresh - 1e-6 : -Infinity;
    const feeds = {
      ...promptFeeds(prompts, this.amgSharedMask),
      [AMG.thresholds]: new ort.Tensor(
        'float32',
        Float32Array.of(tIou, tStab, o.maskThreshold, o.stabilityScoreOffset),
        [4],
      ),
      [AMG.region]: i64([region.h, region.w]),
    };
    const fetches = [AMG.index, AMG.iou, AMG.lowRes];
    let out: Record<string, { data: unknown }>;
    try {
      out = onDevice
        ? await this.graphs!.amg(record.key, () => hostEmbeddingFeeds(record), hostFeeds(feeds), fetches)
        : await this.amgSession!.run({ ...embeddingFeeds(await hostRecord(record)), ...feeds }, fetches);
    } catch (err) {
      throw new EngineError('inference_failed', `decoder (AMG fast path) failed: ${(err as Error).message}`);
    }
    const idx = out[AMG.index]!.data as Int32Array;
    const k = idx.length / 2;
    const prompt = new Int32Array(k);
    const mask = new Int32Array(k);
    for (let i = 0; i < k; i++) {
      prompt[i] = idx[2 * i]!;
      mask[i] = idx[2 * i + 1]!;
    }
    return {
      prompt,
      mask,
      iou: out[AMG.iou]!.data as Float32Array,
      lowRes: out[AMG.lowRes]!.data as Float32Array,
    };
  }

  /** Full-resolution RLE, area and box of n planes [n × 256²] already on the CPU. */
  async upscale(planes: Float32Array, n: number, f: UpscaleFrame, threshold: number): Promise<RleSummary[]> {
    if (n === 0) return [];
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.upscaler.run({
        [POST.lowRes]: new ort.Tensor('float32', planes.subarray(0, n * PLANE), [n, LOW_RES, LOW_RES]),
        [POST.sizes]: i64([f.resizedHeight, f.resizedWidth, f.height, f.width]),
        [POST.threshold]: new ort.Tensor('float32', Float32Array.of(threshold), [1]),
      });
    } catch (err) {
      throw new EngineError(
        'inference_failed',
        `mask upscaling (fast path) failed: ${(err as Error).message}`,
      );
    }
    return summaries(out, f.height, f.width);
  }

  async release(): Promise<void> {
    this.graphs?.release();
    const all = [this.pre, this.encoderSession, this.upscaler, this.masksSession, this.amgSession].filter(
      (s): s is ort.InferenceSession => s !== null,
    );
    await Promise.all(all.map((s) => s.release().catch(() => undefined)));
  }
}

/**
 * Whether the batched decoder gives the same outputs for one shared zero mask input as for one per prompt
 * (the official export and ours do; a third-party export might not). Two prompts on a zero embedding.
 */
async function probeBroadcast(s: ort.InferenceSession, m: ModelManifest): Promise<boolean> {
  const emb: Record<string, ort.Tensor> = {
    image_embeddings: new ort.Tensor(
      'float32',
      Float32Array.from({ length: count(m.embedding.shape) }, (_, i) => Math.sin(i * 0.01)),
      [...m.embedding.shape],
    ),
  };
  for (const x of m.highResFeatures ?? [])
    emb[x.name] = new ort.Tensor('float32', new Float32Array(count(x.shape)), [...x.shape]);
  const prompts: EncodedPrompt[] = [
    { coords: Float32Array.of(300, 200, 0, 0), labels: Float32Array.of(1, -1), ambiguous: true },
    { coords: Float32Array.of(700, 500, 0, 0), labels: Float32Array.of(1, -1), ambiguous: true },
  ] as EncodedPrompt[];
  try {
    const a = await s.run({ ...emb, ...promptFeeds(prompts, false) });
    const b = await s.run({ ...emb, ...promptFeeds(prompts, true) });
    const x = a.low_res_masks!.data as Float32Array;
    const y = b.low_res_masks!.data as Float32Array;
    if (x.length !== y.length) return false;
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(x[i]!));
      worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    }
    return worst <= 1e-3 * Math.max(1, scale);
  } catch {
    return false;
  }
}
