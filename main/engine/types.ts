// Public data types of the engine. They are plain data so they cross the worker boundary unchanged.
import type { Rle } from '../../common/rle/index.js';
import type { ModelManifest } from './manifest.js';
import type { DecoderSignature } from './signature.js';

/** Which execution provider to use. `auto`: CUDA when its libraries load, else CPU. */
export type ProviderChoice = 'auto' | 'cuda' | 'cpu';

export interface ProviderInfo {
  requested: ProviderChoice;
  active: 'cuda' | 'cpu';
  /** Why CUDA is not active when it was requested or `auto`; null when CUDA runs or CPU was asked for. */
  fallbackReason: string | null;
}

/** Milliseconds per stage of one call; 0 for stages skipped (e.g. encoder on a cached embedding). */
export interface StageTimings {
  /** Reading the file and hashing its bytes. */
  read: number;
  /** Decoding the image, EXIF orientation, colour conversion and the bilinear resize (one sharp pipeline). */
  decode: number;
  /** Normalization and padding into the encoder tensor. */
  preprocess: number;
  encoder: number;
  decoder: number;
  /** Low-res logits → full-resolution binary mask (and its RLE where one native pass does both: rle is 0). */
  postprocess: number;
  rle: number;
  total: number;
}

/** Where an embedding came from: freshly encoded (false), the memory LRU or the disk cache. */
export type CacheHit = false | 'memory' | 'disk';

export interface EmbedResult {
  /** sha256 (hex) of the image file's bytes; pass it to segment()/decodeLowRes() instead of the image. */
  key: string;
  /** Size as displayed (EXIF orientation applied); prompt coordinates refer to this frame. */
  width: number;
  height: number;
  /** EXIF orientation read from the file (1 = none). */
  orientation: number;
  cached: CacheHit;
  timings: StageTimings;
}

export interface MaskResult {
  key: string;
  width: number;
  height: number;
  /** Full-resolution mask, COCO compressed RLE. */
  rle: Rle;
  /** The decoder's predicted IoU for the chosen mask. */
  score: number;
  area: number;
  /** [x, y, w, h] in image pixels (COCO bbox). */
  bbox: [number, number, number, number];
  /** Which decoder output was kept (0 = single-output mask; 1..3 = multimask). */
  maskIndex: number;
  /** 256×256 logits of the chosen mask: pass as `prompt.maskInput` to refine. */
  lowRes: Float32Array;
  cached: CacheHit;
  timings: StageTimings;
}

export interface LowResResult {
  /** Masks per prompt (4 for SAM decoders exported with multimask outputs). */
  masksPerPrompt: number;
  /** Predicted IoU, prompt-major: iou[b * masksPerPrompt + m]. */
  iou: Float32Array;
  /** Logits, lowRes[((b * masksPerPrompt + m) * 256 + y) * 256 + x]. */
  lowRes: Float32Array;
  /** Index of the mask SAM's rule picks for each prompt (best of 1..3 when multimask, else 0). */
  best: Int32Array;
  timings: { decoder: number; batches: number };
}

export interface DecodeLowResOptions {
  /** Pick among the multimask outputs (true), take mask 0 (false), or decide per prompt (undefined). */
  multimask?: boolean;
  /** Largest batch sent to the batched decoder (default 64). */
  pointsPerBatch?: number;
}

export interface SegmentManyOptions {
  /** Pick among the multimask outputs (true), take mask 0 (false), or SAM's rule per prompt (undefined). */
  multimask?: boolean;
  /** Logit threshold for the full-resolution masks (default 0). */
  threshold?: number;
  /** Prompts per decoder call, 1..1024 (default 64). */
  pointsPerBatch?: number;
}

/** One full-resolution mask per prompt, in prompt order. */
export interface ManyMasksResult {
  key: string;
  width: number;
  height: number;
  masks: {
    rle: Rle;
    score: number;
    area: number;
    bbox: [number, number, number, number];
    maskIndex: number;
  }[];
  /** ms: decoder calls (on the fast path including upscaling on the GPU), JS upscaling, RLE, all. */
  timings: { decoder: number; postprocess: number; rle: number; total: number };
}

export interface SegmentOptions {
  /** Override SAM's rule (multimask only for one point without a box). */
  multimask?: boolean;
  /** Logit threshold for the full-resolution mask (default 0). */
  threshold?: number;
}

/**
 * GPU fast path (fastpath.ts): `auto` on CUDA only, `on` also on CPU, `off` never. It changes where pixels
 * are processed, not the algorithm: masks agree with the plain path up to float rounding at the threshold.
 */
export type FastPathChoice = 'auto' | 'on' | 'off';

/**
 * The fast path's encoder and batched decoder as captured CUDA graphs, through ortx (graphrun.ts): `auto`
 * on CUDA when the ortx addon is built, `on` also on CPU (same sessions and device-resident hand-offs, no
 * graphs: how the tests check it), `off` never. Default `auto`. Needs the fast path.
 */
export type CudaGraphsChoice = 'auto' | 'on' | 'off';

export interface FastPathInfo {
  active: boolean;
  /** Why it is off (or only partly on); null when fully active. */
  reason: string | null;
  /** The batched decoder takes one zero mask input for the whole batch (probed at load). */
  broadcastMaskInput: boolean;
  /**
   * The encoder runs with preprocessing in front of it (8-bit RGB in, no float image crossing to the
   * device); null when it does, else why not (e.g. weights in an external data file).
   */
  encoderPreprocess: string | null;
  /**
   * AMG runs on the model's decoder_amg.onnx (masks upscaled only for prompts that can pass the IoU
   * filter); null when it does, else why not (the model has none, or it does not fit).
   */
  amgDecoder: string | null;
  /**
   * AMG's decoder runs beside the graph runtime's encoder and reads the embedding it keeps on the device (no
   * upload of the embedding per AMG call; SAM 2's is 16 MB). False without the graph runtime.
   */
  amgResident: boolean;
  /**
   * Why amgResident is false (no graph runtime, or ortx could not open the AMG decoder, with its message);
   * null when it is true.
   */
  amgResidentReason: string | null;
  /**
   * Encoder and batched decoder replayed as CUDA graphs with device-resident hand-offs (ortx); null when
   * they are, else why not (or which of them runs without a graph).
   */
  cudaGraphs: string | null;
  /**
   * JPEG frames that need no downscaling are decoded by libjpeg-turbo itself (the same pixels as sharp's, in
   * less than half its time); null when they are, else why sharp decodes them (no libturbojpeg.so.0, …).
   */
  imageDecode: string | null;
  /**
   * Where the fast path post-processes a click's masks (mask choice, upscaling, RLE): `decoder` (appended to
   * the decoder's onnxruntime-node session), `session` (the graph runtime's own session after the decoder's
   * graph), `graphs` (per image size as CUDA graphs, MASKROOM_ORTX_POST=graph) or `host` (the CPU cores,
   * MASKROOM_ORTX_POST=host); null when the fast path is off (the plain path upscales on the host:
   * EngineInfo.upscale).
   */
  postprocess: 'decoder' | 'session' | 'graphs' | 'host' | null;
}

/**
 * Where masks are upscaled on the host (the plain path's clicks and batches, and the graph runtime's with
 * MASKROOM_ORTX_POST=host): ortx's native post-processing over `threads` threads, or TypeScript (the same
 * masks, several times slower), with the reason.
 */
export interface HostUpscaleInfo {
  via: 'native' | 'typescript';
  threads: number;
  /** Why TypeScript upscales (no addon, MASKROOM_UPSCALE=js); null when the native one does. */
  reason: string | null;
}

export interface EngineInfo {
  model: ModelManifest;
  provider: ProviderInfo;
  decoder: DecoderSignature;
  batchedDecoder: DecoderSignature | null;
  fastPath: FastPathInfo;
  upscale: HostUpscaleInfo;
}

export interface EngineStats {
  encoderRuns: number;
  decoderRuns: number;
  memoryCache: { entries: number; bytes: number; budgetBytes: number };
  diskCacheDir: string | null;
}
