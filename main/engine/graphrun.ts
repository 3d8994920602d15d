// The encoder and the batched decoder as captured CUDA graphs, with tensors kept on the device between
// sessions, through ortx (our binding over onnxruntime's C API, ortx.ts): onnxruntime-node 1.29 passes only
// `deviceId` to the CUDA provider and has no IO binding, so its decoder calls are ~500 kernel launches each
// and every session boundary is a host round trip. Here:
//   pre      8-bit RGB → normalized, padded encoder input, left on the device     (shapes vary: no graph)
//   encoder  the model's own encoder, replayed as one CUDA graph                   (input fixed [1,3,S,S])
//   decoder  the model's batched decoder, one CUDA graph per (prompts, points, mask planes)
//   post     SAM's mask choice + postprocess_masks + RLE run starts from the decoder's device outputs
//            (NonZero's output size depends on the data: no graph)
// A graph that onnxruntime refuses to capture (a node off the GPU, control flow) leaves that session running
// normally, with the reason in describe().fastPath.cudaGraphs. CPU sessions take the same route without graphs
// (`cudaGraphs: 'on'`), which is how the tests check it against the plain path.
import { EngineError } from './errors.js';
import { choicePostprocessModel, MIN_OPSET, POST, PRE, preprocessModel } from './graphs.js';
import type { ModelManifest } from './manifest.js';
import {
  loadOrtx,
  ortxUnavailableReason,
  type DeviceTensor,
  type HostTensor,
  type OrtxSession,
  type OrtxSessionOptions,
} from './ortx.js';
import type { ImageGeometry } from './preprocess.js';
import { ortLibraryPath } from './providers.js';
import type { CudaGraphsChoice, ProviderInfo } from './types.js';

/** Distinct decoder batch shapes captured per session; others run without a graph. */
const MAX_DECODER_GRAPHS = 8;

export type Feeds = Record<string, HostTensor | DeviceTensor>;

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

export interface GraphRuntimeSources {
  encoderPath: string;
  encoderInput: string;
  batchedPath: string;
}

export class GraphRuntime {
  private readonly decoderGraphs = new Map<string, number>();

  private constructor(
    private readonly pre: OrtxSession,
    private readonly encoder: OrtxSession,
    private readonly encoderInput: string,
    private readonly encoderGraph: boolean,
    private readonly decoder: OrtxSession,
    private readonly decoderGraph: boolean,
    private readonly post: OrtxSession,
    /** null when both the encoder and the decoder replay CUDA graphs, else why not. */
    readonly reason: string | null,
  ) {}

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
    const made: OrtxSession[] = [];
    const cuda = provider.active === 'cuda';
    const open = async (model: string | Uint8Array, graph: boolean): Promise<OrtxSession> => {
      const s = await ortx.createSession(model, {
        provider: cuda ? 'cuda' : 'cpu',
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        ...(cuda ? { cuda: cudaOptions(graph) } : {}),
      });
      made.push(s);
      return s;
    };
    /** A session with graph capture on, or without it and the reason onnxruntime gave. */
    const openGraph = async (path: string, role: string): Promise<{ s: OrtxSession; why: string | null }> => {
      if (!cuda) return { s: await open(path, false), why: 'CPU provider' };
      try {
        return { s: await open(path, true), why: null };
      } catch (err) {
        return { s: await open(path, false), why: `${role}: ${(err as Error).message.split('\n')[0]}` };
      }
    };
    try {
      const { mean, std } = m.normalization;
      const pre = await open(preprocessModel(m.inputSize, mean, std, MIN_OPSET), false);
      const enc = await openGraph(src.encoderPath, 'encoder');
      const dec = await openGraph(src.batchedPath, 'batched decoder');
      const post = await open(choicePostprocessModel(m.inputSize, MIN_OPSET), false);
      const why = [enc.why, dec.why].filter((x): x is string => x !== null);
      const reason = why.length ? `no CUDA graph for ${[...new Set(why)].join('; ')}` : null;
      const rt = new GraphRuntime(pre, enc.s, src.encoderInput, !enc.why, dec.s, !dec.why, post, reason);
      return { runtime: rt, reason: reason ?? '' };
    } catch (err) {
      for (const s of made) s.release();
      return { runtime: null, reason: `ortx sessions failed: ${(err as Error).message.split('\n')[0]}` };
    }
  }

  /** Encoder outputs (host) from 8-bit RGB: preprocessing and the encoder never leave the device. */
  async encode(
    rgb: Uint8Array,
    rgbWidth: number,
    rgbHeight: number,
    g: ImageGeometry,
  ): Promise<Record<string, HostTensor>> {
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
    try {
      const out = await this.encoder.run(
        { [this.encoderInput]: image },
        this.encoder.outputs.map((o) => ({ name: o.name })),
        this.encoderGraph ? { graphId: 0 } : undefined,
      );
      return out as Record<string, HostTensor>;
    } finally {
      image.release();
    }
  }

  /**
   * The batched decoder (replayed per batch shape) and then mask choice + post-processing on its
   * device-resident outputs; the result has the masks session's output names (POST.*).
   */
  async masks(
    embedding: Feeds,
    prompts: Feeds,
    multimask: boolean[],
    sizes: [number, number, number, number],
    threshold: number,
    withLowRes: boolean,
  ): Promise<Record<string, HostTensor>> {
    const d = await this.decoder.run(
      { ...embedding, ...prompts },
      [
        { name: 'low_res_masks', device: true },
        { name: 'iou_predictions', device: true },
      ],
      this.graphIdFor(prompts),
    );
    const low = d.low_res_masks as DeviceTensor;
    const iou = d.iou_predictions as DeviceTensor;
    try {
      const fetch: string[] = [POST.index, POST.score, POST.first, POST.runs, POST.changes];
      if (withLowRes) fetch.push(POST.chosen);
      const out = await this.post.run(
        {
          low_res_masks: low,
          iou_predictions: iou,
          [POST.multimask]: {
            type: 'bool',
            dims: [multimask.length],
            data: Uint8Array.from(multimask, Number),
          },
          [POST.sizes]: { type: 'int64', dims: [4], data: BigInt64Array.from(sizes, (v) => BigInt(v)) },
          [POST.threshold]: { type: 'float32', dims: [1], data: Float32Array.of(threshold) },
        },
        fetch.map((name) => ({ name })),
      );
      return out as Record<string, HostTensor>;
    } finally {
      low.release();
      iou.release();
    }
  }

  /** One graph per distinct set of prompt shapes, up to MAX_DECODER_GRAPHS; none beyond that. */
  private graphIdFor(prompts: Feeds): { graphId: number } | undefined {
    if (!this.decoderGraph) return undefined;
    const key = Object.keys(prompts)
      .sort()
      .map((k) => `${k}:${prompts[k]!.dims.join('x')}`)
      .join(',');
    let id = this.decoderGraphs.get(key);
    if (id === undefined) {
      if (this.decoderGraphs.size >= MAX_DECODER_GRAPHS) return undefined;
      // Graph 0 is the encoder's, in its own session; ids only need to be unique per session.
      id = this.decoderGraphs.size;
      this.decoderGraphs.set(key, id);
    }
    return { graphId: id };
  }

  release(): void {
    for (const s of [this.pre, this.encoder, this.decoder, this.post]) s.release();
  }
}
