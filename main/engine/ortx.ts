// ortx: our N-API addon over onnxruntime's C API (main/engine/ortx/), loaded from the same libonnxruntime
// that onnxruntime-node ships. It adds CUDA provider options, IO binding (tensors that stay on the device
// between sessions) and CUDA graphs. Optional: when the addon is not built (other platforms, no compiler),
// loadOrtx() returns null and ortxUnavailableReason() says why; callers fall back to onnxruntime-node.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { asciiToString, type RleSummary } from '../../common/rle/index.js';

export type ElemType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';

/** A tensor in JS memory. bool is a Uint8Array (0/1), float16 a Uint16Array of raw half-precision bits. */
export interface HostTensor {
  type: ElemType;
  dims: number[];
  data: Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;
}

/**
 * A tensor left where the session produced it: CUDA memory for a CUDA session, CPU memory for a CPU one.
 * Feed it to any ortx session on the same device. It keeps its session's ORT objects alive until it is
 * released (release() frees it now; otherwise garbage collection does).
 */
export interface DeviceTensor {
  readonly type: ElemType;
  readonly dims: number[];
  readonly device: 'cpu' | 'cuda';
  /** True once release() was called. */
  readonly released: boolean;
  /**
   * A host copy. Of a CUDA tensor: a cudaMemcpy into the JS buffer (`'pageable'`, the default), or staged
   * through reused pinned memory (`'staged'`: the GPU does one DMA, 16.8 MB in 0.33 ms, and the copy into JS
   * memory is host work; pageable where pinned memory cannot be had). Staging frees the GPU of most of the
   * copy but gained nothing end to end where measured (docs/gpu.md, "Run 14").
   */
  download(via?: DownloadVia): Promise<HostTensor>;
  release(): void;
}

/** How `DeviceTensor.download()` copies a CUDA tensor to the host. */
export type DownloadVia = 'staged' | 'pageable';

export interface OrtxCudaOptions {
  cudnnConvAlgoSearch?: 'EXHAUSTIVE' | 'HEURISTIC' | 'DEFAULT';
  arenaExtendStrategy?: 'kNextPowerOfTwo' | 'kSameAsRequested';
  /** Bytes. */
  gpuMemLimit?: number;
  /** Enables run(..., { graphId }) (CUDA graph capture and replay). */
  enableCudaGraph?: boolean;
  useTf32?: boolean;
  /**
   * Other CUDA provider options by onnxruntime's own names (e.g. `sdpa_kernel`, `prefer_nhwc`,
   * `tunable_op_enable`); onnxruntime rejects unknown names and values when the session is made.
   */
  extra?: Record<string, string | number | boolean>;
}

export interface OrtxSessionOptions {
  provider: 'cpu' | 'cuda';
  deviceId?: number;
  /** Ignored for provider 'cpu'. */
  cuda?: OrtxCudaOptions;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  intraOpNumThreads?: number;
  /**
   * Symbolic input dimensions fixed at load, by name (e.g. `{ B: 1 }`): shape arithmetic then folds to
   * constants instead of running on the CPU, which onnxruntime needs before it captures a CUDA graph.
   */
  freeDimensionOverrides?: Record<string, number>;
  /**
   * Testing aid, provider 'cpu' only: accept run(..., { graphId }) and go through the graph-slot bookkeeping
   * (slot tensors, copies in and out, shape checks) with plain memcpy and no capture.
   */
  emulateCudaGraphOnCpu?: boolean;
}

/** Symbolic dimensions are given by name, unknown ones as -1. `type` is an ElemType or another ONNX type name. */
export interface ValueInfo {
  name: string;
  type: ElemType | string;
  shape: (number | string)[];
}

export interface OrtxFetch {
  name: string;
  /** Keep this output on the session's device and return a DeviceTensor. */
  device?: boolean;
}

export interface OrtxRunOptions {
  /**
   * CUDA graph to capture (first run) and replay (later runs) for these input shapes; needs a session with
   * cuda.enableCudaGraph. Feeds must keep the names, types and dims of the graph's first run. At most 16 per
   * session.
   */
  graphId?: number;
}

export interface OrtxSession {
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  /**
   * Runs of one session execute one at a time, in call order. Host feeds are read in place, not copied:
   * their typed arrays must not be modified (nor their buffers transferred or resized) until the returned
   * promise settles — the same contract as onnxruntime-node. Host outputs come back over onnxruntime's own
   * buffer (no copy) where the runtime allows external ArrayBuffers (see Ortx.externalBuffers).
   * Rejects with TypeError for bad arguments, Error("onnxruntime: ...") for onnxruntime's errors.
   */
  run(
    feeds: Record<string, HostTensor | DeviceTensor>,
    fetches: OrtxFetch[],
    opts?: OrtxRunOptions,
  ): Promise<Record<string, HostTensor | DeviceTensor>>;
  /** Captured CUDA graphs of this session and how often each was replayed (the capture run not counted). */
  graphSlots(): { graphId: number; replays: number }[];
  release(): void;
}

export interface Ortx {
  /** onnxruntime's version string. */
  version: string;
  /** The libonnxruntime that was loaded. */
  libraryPath: string;
  /**
   * Host outputs are handed to JS as external ArrayBuffers over onnxruntime's buffers (no copy). False where
   * the runtime forbids external buffers (Electron's V8 memory cage) or with ORTX_NO_EXTERNAL_BUFFERS=1 set
   * when the addon loads: outputs are then copied into JS memory. Node marks such addon-owned buffers
   * untransferable: in a postMessage transfer list Node 20 copies them silently and Node >= 21 throws
   * DataCloneError, so copy an output (e.g. `slice()`) before transferring it.
   */
  externalBuffers: boolean;
  /**
   * How many `DeviceTensor.download()`s of CUDA tensors went each way so far in this process (all threads):
   * staged through pinned memory, or a plain cudaMemcpy (asked for, or where pinned memory could not be had).
   */
  downloadCounts(): { staged: number; pageable: number };
  createSession(model: string | Uint8Array, opts: OrtxSessionOptions): Promise<OrtxSession>;
}

/** The addon's session: OrtxSession with graph replay counts as a plain object (graphSlots() wraps it). */
interface NativeSession extends Omit<OrtxSession, 'graphSlots'> {
  graphInfo(): Record<string, number>;
}

interface NativeOrtx {
  init(libraryPath: string): {
    version: string;
    buildInfo: string;
    libraryPath: string;
    externalBuffers: boolean;
  };
  createSession(model: string | Uint8Array, opts: OrtxSessionOptions): Promise<NativeSession>;
  downloadCounts(): { staged: number; pageable: number };
  apiVersion: number;
}

class Session implements OrtxSession {
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  #native: NativeSession;

  constructor(native: NativeSession) {
    this.#native = native;
    this.inputs = native.inputs;
    this.outputs = native.outputs;
  }

  async run(
    feeds: Record<string, HostTensor | DeviceTensor>,
    fetches: OrtxFetch[],
    opts?: OrtxRunOptions,
  ): Promise<Record<string, HostTensor | DeviceTensor>> {
    // async: argument errors thrown by the addon become rejections.
    return this.#native.run(feeds, fetches, opts);
  }

  graphSlots(): { graphId: number; replays: number }[] {
    return Object.entries(this.#native.graphInfo()).map(([k, v]) => ({ graphId: Number(k), replays: v }));
  }

  release(): void {
    this.#native.release();
  }
}

/** True for a DeviceTensor returned by an ortx run (as opposed to a HostTensor). */
export function isDeviceTensor(t: HostTensor | DeviceTensor): t is DeviceTensor {
  return 'device' in t && typeof (t as DeviceTensor).download === 'function';
}

let loaded: { ortx: Ortx | null; reason: string | null } | undefined;

/** The addon, built by scripts/build-ortx.mjs into main/engine/ortx/build/Release (sources or dist/). */
function addonPath(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = path.join(dir, 'main', 'engine', 'ortx', 'build', 'Release', 'ortx.node');
    if (existsSync(p)) return p;
    const here = path.join(dir, 'ortx', 'build', 'Release', 'ortx.node');
    if (existsSync(here)) return here;
    dir = path.dirname(dir);
  }
  return null;
}

/** onnxruntime-node's libonnxruntime (ortx must share it with onnxruntime-node: one ORT per process). */
function defaultLibraryPath(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return path.join(
    path.dirname(pkg),
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
    'libonnxruntime.so.1',
  );
}

/**
 * The addon required in this thread, or why it cannot be: not Linux x64, not built, or failing to load. Both
 * of its parts (onnxruntime, libjpeg-turbo) go through here.
 */
function requireAddon<T>(): { native: T; reason: null } | { native: null; reason: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return {
      native: null,
      reason: `ortx is built for linux-x64 only (this is ${process.platform}-${process.arch})`,
    };
  const addon = addonPath();
  if (!addon)
    return {
      native: null,
      reason:
        'ortx addon not built (main/engine/ortx/build/Release/ortx.node missing; run "npm run build:ortx")',
    };
  try {
    return { native: createRequire(import.meta.url)(addon) as T, reason: null };
  } catch (err) {
    return {
      native: null,
      reason: `ortx failed to load: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function tryLoad(libraryPath: string | undefined): { ortx: Ortx | null; reason: string | null } {
  const { native, reason } = requireAddon<NativeOrtx>();
  if (!native) return { ortx: null, reason };
  let info: { version: string; libraryPath: string; externalBuffers: boolean };
  try {
    info = native.init(libraryPath || defaultLibraryPath());
  } catch (err) {
    return { ortx: null, reason: `ortx failed to load: ${err instanceof Error ? err.message : String(err)}` };
  }
  const ortx: Ortx = {
    version: info.version,
    libraryPath: info.libraryPath,
    externalBuffers: info.externalBuffers,
    downloadCounts: () => native.downloadCounts(),
    async createSession(model, opts) {
      return new Session(await native.createSession(model, opts));
    },
  };
  return { ortx, reason: null };
}

/**
 * Loads the addon once (lazily) over `libraryPath` (default: onnxruntime-node's libonnxruntime.so.1, which
 * is the one to use: the process must not hold two onnxruntimes). The first call decides; later calls return
 * the same result whatever their argument. null when unavailable (see ortxUnavailableReason()).
 */
export function loadOrtx(libraryPath?: string): Ortx | null {
  loaded ??= tryLoad(libraryPath);
  return loaded.ortx;
}

/** Why loadOrtx() returns null, or null when ortx is available. Loads it (default library) if not yet tried. */
export function ortxUnavailableReason(): string | null {
  loaded ??= tryLoad(undefined);
  return loaded.reason;
}

/** libjpeg-turbo's decoder through the addon (ortx/jpeg.cc). */
export interface JpegDecoder {
  /** The libturbojpeg that was loaded. */
  libraryPath: string;
  /**
   * The pixels as stored, 8-bit RGB: no EXIF rotation, no colour management (the caller decides when that is
   * what it needs). Rejects for CMYK/YCCK, an empty image or more than `maxPixels`, and any error or warning of
   * libjpeg-turbo (truncated or corrupt data), so that another decoder can give its own verdict.
   */
  decode(bytes: Uint8Array, maxPixels: number): Promise<{ width: number; height: number; data: Uint8Array }>;
}

interface NativeJpeg {
  jpegInit(path: string): { libraryPath?: string; error?: string };
  decodeJpeg(
    bytes: Uint8Array,
    maxPixels: number,
  ): Promise<{ width: number; height: number; data: Uint8Array }>;
}

let jpegLoaded: { decoder: JpegDecoder | null; reason: string | null } | undefined;

/**
 * libjpeg-turbo's decoder (libturbojpeg.so.0, or MASKROOM_TURBOJPEG's path), or why there is none: no addon,
 * not Linux x64, no such library (Debian/Ubuntu: libturbojpeg0). Loaded once per thread; the first call decides.
 */
export function loadJpegDecoder(): { decoder: JpegDecoder | null; reason: string | null } {
  jpegLoaded ??= tryLoadJpeg();
  return jpegLoaded;
}

function tryLoadJpeg(): { decoder: JpegDecoder | null; reason: string | null } {
  const { native, reason } = requireAddon<NativeJpeg>();
  if (!native) return { decoder: null, reason };
  const r = native.jpegInit(process.env.MASKROOM_TURBOJPEG ?? '');
  if (!r.libraryPath) return { decoder: null, reason: `no libjpeg-turbo: ${r.error ?? 'unknown'}` };
  const libraryPath = r.libraryPath;
  return {
    decoder: { libraryPath, decode: async (bytes, maxPixels) => native.decodeJpeg(bytes, maxPixels) },
    reason: null,
  };
}

/** Where the upscaling maps a plane: the model's input side, the resized frame in it, the image. */
export interface UpscaleGeometry {
  inputSize: number;
  resizedHeight: number;
  resizedWidth: number;
  height: number;
  width: number;
}

/** SAM's mask post-processing on the host (ortx/masks_kernel.cc), split over the machine's cores. */
export interface MaskUpscaler {
  /** Threads one call is split over (the calling pool thread included). */
  threads: number;
  /**
   * Bands of columns so far (this process) whose tiles were mostly decided from the logits' range
   * (`tiledBands`) or that were computed pixel by pixel (`stagedBands`: noisy masks): for tests and benches.
   */
  stats(): { tiledBands: number; stagedBands: number };
  /**
   * Mask k from plane `index[k]` of `planes` (256² logits each): postprocess_masks to height × width, `>
   * threshold`, as compressed COCO RLE, area and box — bit-identical to postprocess.ts lowResToMask followed
   * by common/rle's encode, compress, area and toBbox. Rejects with TypeError or RangeError for bad
   * arguments. `planes` must not be modified until the promise settles.
   */
  upscale(
    planes: Float32Array,
    index: Int32Array,
    frame: UpscaleGeometry,
    threshold: number,
    /** Testing aid: cut each mask into this many bands of columns (at most one per column). */
    bands?: number,
  ): Promise<RleSummary[]>;
}

interface NativeMasks {
  upscaleMasks(
    planes: Float32Array,
    index: Int32Array,
    frame: UpscaleGeometry,
    threshold: number,
    bands?: number,
  ): Promise<{ chars: Uint8Array; ends: Int32Array; area: Float64Array; bbox: Float64Array }>;
  upscaleThreads(): number;
  upscaleStats(): { tiledBands: number; stagedBands: number };
}

let upscalerLoaded: { upscaler: MaskUpscaler | null; reason: string | null } | undefined;

/** The addon's mask upscaler, or why there is none (no addon, not Linux x64). Loaded once per thread. */
export function loadMaskUpscaler(): { upscaler: MaskUpscaler | null; reason: string | null } {
  upscalerLoaded ??= tryLoadUpscaler();
  return upscalerLoaded;
}

function tryLoadUpscaler(): { upscaler: MaskUpscaler | null; reason: string | null } {
  const { native, reason } = requireAddon<NativeMasks>();
  if (!native) return { upscaler: null, reason };
  if (typeof native.upscaleMasks !== 'function')
    return { upscaler: null, reason: 'the ortx addon predates upscaleMasks: run "npm run build:ortx"' };
  return {
    upscaler: {
      threads: native.upscaleThreads(),
      stats: () => native.upscaleStats(),
      async upscale(planes, index, frame, threshold, bands) {
        const r = await native.upscaleMasks(planes, index, frame, threshold, bands);
        const out: RleSummary[] = new Array<RleSummary>(r.ends.length);
        let start = 0;
        for (let k = 0; k < r.ends.length; k++) {
          const end = r.ends[k]!;
          out[k] = {
            rle: {
              size: [frame.height, frame.width],
              counts: asciiToString(r.chars.subarray(start, end), end - start),
            },
            area: r.area[k]!,
            bbox: [r.bbox[4 * k]!, r.bbox[4 * k + 1]!, r.bbox[4 * k + 2]!, r.bbox[4 * k + 3]!],
          };
          start = end;
        }
        return out;
      },
    },
    reason: null,
  };
}
