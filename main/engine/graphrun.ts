// The encoder and the batched decoder as captured CUDA graphs, with tensors kept on the device between
// sessions, through ortx (our binding over onnxruntime's C API, ortx.ts): onnxruntime-node 1.29 passes only
// `deviceId` to the CUDA provider and has no IO binding, so its decoder calls are ~500 kernel launches each
// and every session boundary is a host round trip. Here:
//   pre      8-bit RGB → normalized, padded encoder input, left on the device     (shapes vary: no graph)
//   encoder  the model's own encoder, replayed as one CUDA graph                   (input fixed [1,3,S,S])
//   decoder  the model's batched decoder, one session and CUDA graph per (prompts, points, mask planes), its
//            symbolic dimensions fixed at load so that shape arithmetic folds away instead of running on
//            the CPU (a CPU node fed from the GPU means a copy, and onnxruntime will not capture that)
//   post     SAM's mask choice + postprocess_masks + RLE run starts from the decoder's device outputs
//            (NonZero's output size depends on the data: no graph). With MASKROOM_ORTX_POST=graph, per image
//            size and prompt count: everything up to NonZero as a CUDA graph (sizes baked in), then NonZero
//            alone (postgraphs.ts); the first call of a size builds that session in the background. With
//            MASKROOM_ORTX_POST=host, no post session: the mask choice is appended to the decoder (in its
//            graph), only the chosen planes come to the host, and ortx's native post-processing upscales
//            them on the CPU cores (upscale.ts)
//   amg      the AMG decoder + prefilter (fastpath.ts) on the resident embedding  (survivors vary: no graph)
// A graph that onnxruntime refuses to capture (a node off the GPU, control flow) leaves that session running
// normally, with the reason in describe().fastPath.cudaGraphs (kept current as calls of new prompt shapes come
// in). CPU sessions take the same route (`cudaGraphs: 'on'`) with ortx's emulated graph slots (the same
// per-shape sessions, slot copies and shape checks, nothing captured), which is how the tests check it
// against the plain path.
import { readFileSync } from 'node:fs';
import type { RleSummary } from '../../common/rle/index.js';
import { EngineError, envChoice, firstLine } from './errors.js';
import {
  changesModel,
  choicePostprocessModel,
  decoderWithChoice,
  MIN_OPSET,
  POST,
  PRE,
  preprocessModel,
} from './graphs.js';
import type { ModelManifest } from './manifest.js';
import { hasExternalData } from './onnx-rewrite.js';
import {
  loadOrtx,
  ortxUnavailableReason,
  type DeviceTensor,
  type DownloadVia,
  type HostTensor,
  type MaskUpscaler,
  type OrtxSession,
  type OrtxSessionOptions,
  type ValueInfo,
} from './ortx.js';
import { PostGraphs, postVia, type PostGraphState } from './postgraphs.js';
import { LOW_RES } from './postprocess.js';
import type { ImageGeometry } from './preprocess.js';
import { ortLibraryPath } from './providers.js';
import type { CudaGraphsChoice, ProviderInfo } from './types.js';
import { hostUpscaler, upscaleOnHost } from './upscale.js';

/**
 * Embeddings kept on the device after encoding, most recent first: a click on an open image feeds the
 * decoder without uploading its 4 MB embedding (+10.5 MB of SAM 2 features) again.
 */
const RESIDENT_EMBEDDINGS = 4;

/** Distinct decoder batch shapes with a session and graph of their own; others run without a graph. */
const MAX_DECODER_GRAPHS = 6;

export type Feeds = Record<string, HostTensor | DeviceTensor>;

const CPU_REASON = 'CPU provider (graph slots emulated, nothing captured)';

/** The chosen masks, fetched to the host for post-processing there (MASKROOM_ORTX_POST=host). */
const HOST_FETCH = [{ name: POST.index }, { name: POST.score }, { name: POST.chosen }];

const PLANE = LOW_RES * LOW_RES;

/**
 * CUDA provider options. Defaults chosen by measurement (docs/gpu.md, "ortx"); MASKROOM_ORTX_CUDA (JSON,
 * the `cuda` object of OrtxSessionOptions) overrides them, which is how the benchmark compares settings.
 */
function cudaOptions(graph: boolean): NonNullable<OrtxSessionOptions['cuda']> {
  let extra: NonNullable<OrtxSessionOptions['cuda']> = {};
  const env = process.env.MASKROOM_ORTX_CUDA;
  if (env) {
    try {
      extra = JSON.parse(env) as NonNullable<OrtxSessionOptions['cuda']>;
    } catch {
      throw new EngineError('internal', `MASKROOM_ORTX_CUDA is not JSON: ${env}`);
    }
  }
  return {
    cudnnConvAlgoSearch: 'HEURISTIC',
    arenaExtendStrategy: 'kSameAsRequested',
    ...extra,
    enableCudaGraph: graph,
  };
}

/**
 * How encoder outputs reach the host caches: a plain cudaMemcpy (the default), or MASKROOM_ORTX_DOWNLOAD=staged
 * through pinned memory, which is how the benchmark compares the two (docs/gpu.md, "Run 14").
 */
function downloadVia(): DownloadVia {
  return envChoice('MASKROOM_ORTX_DOWNLOAD', ['staged', 'pageable'], 'pageable');
}

export interface GraphRuntimeSources {
  encoderPath: string;
  encoderInput: string;
  batchedPath: string;
}

export class GraphRuntime {
  /** Per prompt-shape key: a decoder session with fixed dimensions and a CUDA graph, or null (refused). */
  private readonly decoderGraphs = new Map<string, Promise<OrtxSession | null>>();
  private decoderGraphReason: string | null = null;
  /** Why some decoder calls run without a graph (prompt shapes past the cap, shapes no override fits). */
  private readonly decoderShapeReasons = new Set<string>();
  private readonly resident = new Map<string, Record<string, DeviceTensor>>();
  /** The AMG decoder with its prefilter, when attached (no graph: its outputs' sizes depend on the data). */
  private amgSession: OrtxSession | null = null;

  private constructor(
    private readonly open: Opener,
    /** The batched decoder's file, or its bytes with the mask choice appended (MASKROOM_ORTX_POST=host). */
    private readonly decoderModel: string | Uint8Array,
    private readonly pre: OrtxSession,
    private readonly encoder: OrtxSession,
    private readonly encoderInput: string,
    private readonly encoderGraph: boolean,
    /** Dynamic shapes, no graph: decoder metadata, and every call without a graph session of its own. */
    private readonly decoder: OrtxSession,
    /** The post-processing session; null with host post-processing, which has none. */
    private readonly post: OrtxSession | null,
    private readonly encoderReason: string | null,
    private readonly via: DownloadVia,
    /** Post-processing per image size as CUDA graphs (MASKROOM_ORTX_POST=graph), else null. */
    private readonly postGraphs: PostGraphs | null,
    /** Post-processing on the host (MASKROOM_ORTX_POST=host), else null. */
    private readonly hostPost: { upscaler: MaskUpscaler | null; inputSize: number } | null,
  ) {}

  /**
   * null when the encoder and the decoder shapes seen so far replay CUDA graphs (and, with
   * MASKROOM_ORTX_POST=graph, the post-processing of the sizes seen so far), else why not.
   */
  get reason(): string | null {
    const why = [
      this.encoderReason,
      this.decoderGraphReason,
      ...this.decoderShapeReasons,
      ...(this.postGraphs?.reasons ?? []),
    ].filter((x): x is string => x !== null);
    return why.length ? `no CUDA graph for ${[...new Set(why)].join('; ')}` : null;
  }

  /** Builds the sessions, or says why not; never throws (the fast path's other sessions still work). */
  static async create(
    m: ModelManifest,
    src: GraphRuntimeSources,
    provider: ProviderInfo,
    choice: CudaGraphsChoice,
  ): Promise<{ runtime: GraphRuntime | null; reason: string }> {
    if (choice === 'off') return { runtime: null, reason: 'turned off (cudaGraphs: "off")' };
    if (choice === 'auto' && provider.active !== 'cuda')
      return { runtime: null, reason: 'CPU provider: CUDA graphs need CUDA' };
    const lib = ortLibraryPath();
    const ortx = lib ? loadOrtx(lib) : null;
    if (!ortx)
      return {
        runtime: null,
        reason: `ortx unavailable: ${ortxUnavailableReason() ?? 'no onnxruntime library'}`,
      };
    const cuda = provider.active === 'cuda';
    // On CPU (only with 'on'), graph sessions get ortx's emulated slots: the same route, nothing captured.
    const open: Opener = (model, graph, dims) =>
      ortx.createSession(model, {
        provider: cuda ? 'cuda' : 'cpu',
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        ...(cuda ? { cuda: cudaOptions(graph) } : graph ? { emulateCudaGraphOnCpu: true } : {}),
        ...(dims ? { freeDimensionOverrides: dims } : {}),
      });
    // Sessions made here, released if the runtime cannot be built (later graph sessions are its own).
    const made: OrtxSession[] = [];
    const track = async (p: Promise<OrtxSession>): Promise<OrtxSession> => {
      const s = await p;
      made.push(s);
      return s;
    };
    try {
      const via = downloadVia();
      const { mean, std } = m.normalization;
      const pre = await track(open(preprocessModel(m.inputSize, mean, std, MIN_OPSET), false));
      let encoder: OrtxSession;
      let encoderReason: string | null = cuda ? null : CPU_REASON;
      let encoderGraph = true;
      try {
        encoder = await track(open(src.encoderPath, true));
      } catch (err) {
        if (!cuda) throw err;
        encoderReason = `encoder: ${firstLine(err)}`;
        encoderGraph = false;
        encoder = await track(open(src.encoderPath, false));
      }
      const post = postVia();
      // Host post-processing: the mask choice on the device, so that only the chosen planes are downloaded.
      let decoderModel: string | Uint8Array = src.batchedPath;
      if (post === 'host') {
        const bytes = new Uint8Array(readFileSync(src.batchedPath));
        // Rewritten bytes lose the file's folder, where onnxruntime finds external weights. Opt-in only, so
        // the runtime says so and steps aside; were it the default, such a decoder would need the plain session.
        if (hasExternalData(bytes))
          throw new Error('MASKROOM_ORTX_POST=host needs a batched decoder without an external data file');
        decoderModel = decoderWithChoice(bytes);
      }
      const decoder = await track(open(decoderModel, false));
      const postSession =
        post === 'host' ? null : await track(open(choicePostprocessModel(m.inputSize, MIN_OPSET), false));
      const postGraphs =
        post === 'graph'
          ? new PostGraphs(
              (model, dims) => open(model, true, dims),
              m.inputSize,
              await track(open(changesModel(MIN_OPSET), false)),
            )
          : null;
      const rt = new GraphRuntime(
        open,
        decoderModel,
        pre,
        encoder,
        src.encoderInput,
        encoderGraph,
        decoder,
        postSession,
        encoderReason,
        via,
        postGraphs,
        post === 'host' ? { upscaler: hostUpscaler().upscaler, inputSize: m.inputSize } : null,
      );
      // A click's shape (one prompt, the point and SAM's padding point): says at load whether onnxruntime
      // will capture this decoder at all.
      const click = {
        point_coords: [1, 2, 2],
        point_labels: [1, 2],
        mask_input: [1, 1, 256, 256],
        has_mask_input: [1],
        // The mask choice appended for host post-processing takes the multimask flags.
        ...(post === 'host' ? { [POST.multimask]: [1] } : {}),
      };
      await rt.graphSession(click);
      return { runtime: rt, reason: rt.reason ?? '' };
    } catch (err) {
      for (const s of made) s.release();
      return { runtime: null, reason: `ortx sessions failed: ${firstLine(err)}` };
    }
  }

  /**
   * Encoder outputs from 8-bit RGB: preprocessing and the encoder never leave the device, and the outputs
   * stay there under `key` for the decoder calls that follow. Resolves once the encoder has run, with the
   * outputs' types and shapes; `host` (their host copies, for the caches) settles when the downloads end, so
   * that a decoder call can start on the device copy meanwhile.
   */
  async encode(
    rgb: Uint8Array,
    rgbWidth: number,
    rgbHeight: number,
    g: ImageGeometry,
    key: string,
  ): Promise<{
    outputs: Record<string, Pick<DeviceTensor, 'type' | 'dims'>>;
    host: Promise<Record<string, HostTensor>>;
  }> {
    const p = await this.pre.run(
      {
        [PRE.rgb]: { type: 'uint8', dims: [rgbHeight, rgbWidth, 3], data: rgb },
        [PRE.sizes]: {
          type: 'int64',
          dims: [2],
          data: BigInt64Array.of(BigInt(g.resizedHeight), BigInt(g.resizedWidth)),
        },
      },
      [{ name: PRE.image, device: true }],
    );
    const image = p[PRE.image] as DeviceTensor;
    let out: Record<string, DeviceTensor>;
    try {
      out = (await this.encoder.run(
        { [this.encoderInput]: image },
        this.encoder.outputs.map((o) => ({ name: o.name, device: true })),
        this.encoderGraph ? { graphId: 0 } : undefined,
      )) as Record<string, DeviceTensor>;
    } finally {
      image.release();
    }
    // Side by side (one pool thread each; SAM 2's three outputs are 16 MB). Each download holds its tensor,
    // so an eviction from the device meanwhile cannot free what is being read.
    const entries = Object.entries(out);
    const copies = entries.map(([, t]) => t.download(this.via));
    const host = Promise.all(copies).then((c) =>
      Object.fromEntries(entries.map(([name], i) => [name, c[i]!])),
    );
    this.keep(key, out);
    const outputs = Object.fromEntries(entries.map(([name, t]) => [name, { type: t.type, dims: t.dims }]));
    return { outputs, host };
  }

  private keep(key: string, tensors: Record<string, DeviceTensor>): void {
    const old = this.resident.get(key);
    this.resident.delete(key);
    if (old) for (const t of Object.values(old)) t.release();
    this.resident.set(key, tensors);
    while (this.resident.size > RESIDENT_EMBEDDINGS) {
      const [k, v] = this.resident.entries().next().value as [string, Record<string, DeviceTensor>];
      this.resident.delete(k);
      for (const t of Object.values(v)) t.release();
    }
  }

  /** The device-resident embedding under `key` (made most recent), else the host copy from `host()`. */
  private async embeddingFeeds(key: string, host: () => Promise<Feeds>): Promise<Feeds> {
    return this.residentFeeds(key) ?? (await host());
  }

  /** The device-resident embedding under `key` (made most recent), or null. */
  private residentFeeds(key: string): Feeds | null {
    const v = this.resident.get(key);
    if (!v) return null;
    this.resident.delete(key);
    this.resident.set(key, v);
    return v;
  }

  /**
   * The batched decoder (replayed per batch shape) and then mask choice + post-processing on its
   * device-resident outputs; `outputs` has the masks session's output names (POST.*). `decoderMs`: the
   * decoder session's share of the call (the rest is the post-processing session and its download), so that
   * the click's time can be told apart in the two (docs/gpu.md, run 18).
   */
  async masks(
    key: string,
    /** The host copy, asked for only when the embedding is no longer on the device. */
    embedding: () => Promise<Feeds>,
    prompts: Feeds,
    multimask: boolean[],
    sizes: [number, number, number, number],
    threshold: number,
    withLowRes: boolean,
  ): Promise<{ outputs: Record<string, HostTensor>; decoderMs: number; masks?: RleSummary[] }> {
    const t0 = performance.now();
    const mm: HostTensor = {
      type: 'bool',
      dims: [multimask.length],
      data: Uint8Array.from(multimask, Number),
    };
    // The decoder with the mask choice appended (host post-processing) takes the multimask flags too.
    const feeds: Feeds = this.hostPost ? { ...prompts, [POST.multimask]: mm } : prompts;
    const shapes = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.dims]));
    const graph = await this.graphSession(shapes);
    const emb = await this.embeddingFeeds(key, embedding);
    if (this.hostPost) {
      const d = graph
        ? await graph.run({ ...emb, ...feeds }, HOST_FETCH, { graphId: 0 })
        : await this.decoder.run({ ...emb, ...feeds }, HOST_FETCH);
      const decoderMs = performance.now() - t0;
      const host = d as Record<string, HostTensor>;
      return { ...(await this.hostMasks(host, sizes, threshold, withLowRes)), decoderMs };
    }
    const fetch = [
      { name: 'low_res_masks', device: true },
      { name: 'iou_predictions', device: true },
    ];
    const d = graph
      ? await graph.run({ ...emb, ...prompts }, fetch, { graphId: 0 })
      : await this.decoder.run({ ...emb, ...prompts }, fetch);
    const decoderMs = performance.now() - t0;
    const low = d.low_res_masks as DeviceTensor;
    const iou = d.iou_predictions as DeviceTensor;
    try {
      const names: string[] = [POST.index, POST.score, POST.first, POST.runs];
      if (withLowRes) names.push(POST.chosen);
      const feeds: Feeds = {
        low_res_masks: low,
        iou_predictions: iou,
        [POST.multimask]: mm,
        [POST.threshold]: { type: 'float32', dims: [1], data: Float32Array.of(threshold) },
      };
      const fixed = await this.postGraphs?.run(feeds, sizes, names, withLowRes);
      if (fixed) return { outputs: fixed, decoderMs };
      const out = await this.post!.run(
        {
          ...feeds,
          [POST.sizes]: { type: 'int64', dims: [4], data: BigInt64Array.from(sizes, (v) => BigInt(v)) },
        },
        [...names, POST.changes].map((name) => ({ name })),
      );
      return { outputs: out as Record<string, HostTensor>, decoderMs };
    } finally {
      low.release();
      iou.release();
    }
  }

  /**
   * MASKROOM_ORTX_POST=host: the planes the decoder chose (decoderWithChoice) upscaled to RLE on the CPU cores;
   * `outputs` has POST.index, POST.score and (withLowRes) POST.chosen.
   */
  private async hostMasks(
    outputs: Record<string, HostTensor>,
    sizes: [number, number, number, number],
    threshold: number,
    withLowRes: boolean,
  ): Promise<{ outputs: Record<string, HostTensor>; masks: RleSummary[] }> {
    const chosen = outputs[POST.chosen]!;
    const b = outputs[POST.index]!.dims[0]!;
    if (chosen.type !== 'float32' || chosen.data.length !== b * PLANE)
      throw new EngineError(
        'inference_failed',
        `batched decoder gave ${chosen.type} planes [${chosen.dims.join(', ')}] for ${b} prompt(s)`,
      );
    const [resizedHeight, resizedWidth, height, width] = sizes;
    const masks = await upscaleOnHost(
      chosen.data as Float32Array,
      Int32Array.from({ length: b }, (_, k) => k),
      { inputSize: this.hostPost!.inputSize, resizedHeight, resizedWidth, height, width },
      threshold,
      this.hostPost!.upscaler,
    );
    if (!withLowRes) delete outputs[POST.chosen];
    return { outputs, masks };
  }

  /**
   * Opens the AMG decoder (decoder and prefilter, fastpath.ts) on this runtime's device, so that it reads
   * the resident embeddings. null when it is open, else why not: the caller then opens it on
   * onnxruntime-node, and the reason reaches EngineInfo (a user asking why AMG is slower than expected).
   */
  async attachAmg(model: Uint8Array): Promise<string | null> {
    if (this.amgSession) return null;
    try {
      this.amgSession = await this.open(model, false);
      return null;
    } catch (err) {
      return `ortx could not open the AMG decoder: ${firstLine(err)}`;
    }
  }

  get hasAmg(): boolean {
    return this.amgSession !== null;
  }

  /** The attached AMG decoder on the embedding under `key` (resident, else `embedding()` uploaded). */
  async amg(
    key: string,
    embedding: () => Promise<Feeds>,
    feeds: Feeds,
    fetches: string[],
  ): Promise<Record<string, HostTensor>> {
    if (!this.amgSession) throw new EngineError('internal', 'no AMG decoder on the graph runtime');
    const out = await this.amgSession.run(
      { ...(await this.embeddingFeeds(key, embedding)), ...feeds },
      fetches.map((name) => ({ name })),
    );
    return out as Record<string, HostTensor>;
  }

  /**
   * The decoder session for these prompt shapes: its symbolic dimensions fixed to them and a CUDA graph
   * enabled (emulated slots on CPU); made on first use, up to MAX_DECODER_GRAPHS of them. null (the dynamic
   * session serves) past the cap, when no fixed dimensions fit the shapes, or when onnxruntime refuses the
   * capture; each reason is kept for describe().
   */
  private graphSession(shapes: Record<string, number[]>): Promise<OrtxSession | null> {
    const key = Object.keys(shapes)
      .sort()
      .map((k) => `${k}:${shapes[k]!.join('x')}`)
      .join(',');
    let s = this.decoderGraphs.get(key);
    if (s) return s;
    if (this.decoderGraphs.size >= MAX_DECODER_GRAPHS) {
      this.decoderShapeReasons.add(
        `batched decoder: prompt shapes past the first ${MAX_DECODER_GRAPHS} (prompts, points, mask planes)`,
      );
      return Promise.resolve(null);
    }
    const dims = fixedDimensions(this.decoder.inputs, shapes);
    if (!dims) {
      this.decoderShapeReasons.add(
        'batched decoder: prompts with one shared mask plane, where the model names both batches alike',
      );
      return Promise.resolve(null);
    }
    s = this.open(this.decoderModel, true, dims).catch((err: unknown) => {
      this.decoderGraphReason = `batched decoder: ${firstLine(err)}`;
      return null;
    });
    this.decoderGraphs.set(key, s);
    return s;
  }

  /** Where masks are post-processed (FastPathInfo.postprocess). */
  get postprocess(): 'session' | 'graphs' | 'host' {
    return this.hostPost ? 'host' : this.postGraphs ? 'graphs' : 'session';
  }

  /** The post-processing graphs' sizes (PostGraphs.state); [] when post-processing runs plain. */
  postGraphState(): PostGraphState[] {
    return this.postGraphs?.state() ?? [];
  }

  release(): void {
    for (const v of this.resident.values()) for (const t of Object.values(v)) t.release();
    this.resident.clear();
    for (const s of [this.pre, this.encoder, this.decoder, this.post, this.amgSession]) s?.release();
    this.amgSession = null;
    this.postGraphs?.release();
    for (const p of this.decoderGraphs.values()) void p.then((s) => s?.release());
  }
}

/**
 * The sizes that fix a session's symbolic input dimensions (by name) to the given input shapes, or null when
 * one name takes two sizes (a shared mask plane under the prompts' batch name): then no override fits.
 */
export function fixedDimensions(
  inputs: readonly ValueInfo[],
  shapes: Record<string, readonly number[]>,
): Record<string, number> | null {
  const dims: Record<string, number> = {};
  for (const info of inputs) {
    const actual = shapes[info.name];
    if (!actual) continue;
    for (const [i, d] of info.shape.entries()) {
      if (typeof d !== 'string' || d === '' || actual[i] === undefined) continue;
      if (dims[d] !== undefined && dims[d] !== actual[i]) return null;
      dims[d] = actual[i];
    }
  }
  return dims;
}

type Opener = (
  model: string | Uint8Array,
  graph: boolean,
  dims?: Record<string, number>,
) => Promise<OrtxSession>;
