// Mask post-processing per image size as CUDA graphs, for the graph runtime (graphrun.ts), with
// MASKROOM_ORTX_POST=graph. The plain post-processing session serves every size but cannot be captured:
// NonZero's output size depends on the data. Everything before NonZero has fixed shapes once the image size and
// the prompt count are known, so per (prompts, size) that part gets a session of its own with the sizes baked
// in (graphs.ts choiceFlipsModel), replayed as a CUDA graph, and NonZero runs alone after it (changesModel).
// Session creation is not on the click's path: a size's first call runs the plain session and starts the build.
import { envChoice, firstLine } from './errors.js';
import { choiceFlipsModel, MIN_OPSET, POST } from './graphs.js';
import type { DeviceTensor, HostTensor, OrtxSession } from './ortx.js';

/** Image sizes × prompt counts with a session and graphs of their own, the most recently used kept. */
const MAX_POST_GRAPHS = 4;

/**
 * Past this much upscaling memory (prompts × (S² + h·w) floats) a size keeps the plain session: a captured
 * graph holds its buffers for as long as it lives, while the plain session shares its own between sizes.
 */
const POST_GRAPH_MAX_BYTES = 256 * 2 ** 20;

/**
 * MASKROOM_ORTX_POST: `graph` (this module), `plain` (one session for every size, the default: run 20
 * measured the graphs at half the plain session's time, but with stalls of single calls it does not explain;
 * docs/gpu.md) or `host` (the mask choice appended to the decoder, the chosen planes downloaded and upscaled by
 * ortx's native post-processing on the CPU cores, upscale.ts).
 */
export function postVia(): 'graph' | 'plain' | 'host' {
  return envChoice('MASKROOM_ORTX_POST', ['graph', 'plain', 'host'], 'plain');
}

/** Whether post-processing `prompts` masks of height × width may have a graph (POST_GRAPH_MAX_BYTES). */
export function postGraphFits(prompts: number, inputSize: number, height: number, width: number): boolean {
  return prompts * (inputSize ** 2 + height * width) * 4 <= POST_GRAPH_MAX_BYTES;
}

export interface PostGraphState {
  /** `prompts|rows x cols x height x width` (the resized and the original image size). */
  key: string;
  ready: boolean;
  /** Graph replays so far (captures not counted). */
  replays: number;
}

/** One size's session: null while it is built, or when refused. */
interface Entry {
  session: OrtxSession | null;
}

export class PostGraphs {
  /** Least recently used first. */
  private readonly entries = new Map<string, Entry>();
  /** Why some sizes run the plain session (refused captures, sizes past the memory cap), for describe(). */
  readonly reasons = new Set<string>();
  private released = false;

  constructor(
    /** Opens a session with CUDA graphs enabled and these symbolic dimensions fixed. */
    private readonly open: (model: Uint8Array, dims: Record<string, number>) => Promise<OrtxSession>,
    private readonly inputSize: number,
    /** NonZero alone (changesModel), no graph. */
    private readonly changes: OrtxSession,
  ) {}

  /**
   * The plain post-processing session's outputs (`names` and POST.changes) through this size's graph and then
   * NonZero; null when the plain session must serve this call: the size's session is not built yet (its build
   * starts here), or it was refused. A graph that fails to capture or replay leaves its size to the plain
   * session from then on, with the reason in `reasons`. `feeds`: the decoder's device outputs, the multimask
   * flags and the threshold.
   */
  async run(
    feeds: Record<string, HostTensor | DeviceTensor>,
    sizes: [number, number, number, number],
    names: string[],
    withLowRes: boolean,
  ): Promise<Record<string, HostTensor> | null> {
    const prompts = feeds.low_res_masks!.dims[0]!;
    const key = `${prompts}|${sizes.join('x')}`;
    const entry = this.entries.get(key);
    if (!entry) {
      this.build(key, prompts, sizes);
      return null;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    const session = entry.session;
    if (!session) return null;
    let out: Record<string, HostTensor | DeviceTensor>;
    try {
      // One graph per output set: a slot's outputs are fixed at its capture.
      out = await session.run(
        feeds,
        [...names.map((name) => ({ name })), { name: POST.flips, device: true }],
        { graphId: withLowRes ? 1 : 0 },
      );
    } catch (err) {
      // Evicted meanwhile (released under this call): not this size's failure.
      if (this.entries.get(key) !== entry) return null;
      entry.session = null;
      session.release();
      this.reasons.add(
        `post-processing of ${prompts} prompt(s) at ${sizes[3]}×${sizes[2]}: ${firstLine(err)}`,
      );
      return null;
    }
    const flips = out[POST.flips] as DeviceTensor;
    try {
      const c = await this.changes.run({ [POST.flips]: flips }, [{ name: POST.changes }]);
      const host = Object.fromEntries(names.map((n) => [n, out[n] as HostTensor]));
      return { ...host, [POST.changes]: c[POST.changes] as HostTensor };
    } finally {
      flips.release();
    }
  }

  /** Starts building one size's session; the least recently used one past the cap goes. */
  private build(key: string, prompts: number, sizes: [number, number, number, number]): void {
    const entry: Entry = { session: null };
    this.entries.set(key, entry);
    while (this.entries.size > MAX_POST_GRAPHS) {
      const [k, old] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(k);
      old.session?.release();
    }
    if (!postGraphFits(prompts, this.inputSize, sizes[2], sizes[3])) {
      this.reasons.add(
        `post-processing past ${POST_GRAPH_MAX_BYTES / 2 ** 20} MB of upscaling (prompts × image size)`,
      );
      return;
    }
    this.open(choiceFlipsModel(this.inputSize, [...sizes], MIN_OPSET), { B: prompts }).then(
      (session) => {
        // Evicted or released while it was built: nobody will run it.
        if (this.released || this.entries.get(key) !== entry) session.release();
        else entry.session = session;
      },
      (err: unknown) => {
        this.reasons.add(`post-processing: ${firstLine(err)}`);
      },
    );
  }

  /** Each size, least recently used first: whether its session is ready and how often its graphs replayed. */
  state(): PostGraphState[] {
    return [...this.entries].map(([key, e]) => ({
      key,
      ready: e.session !== null,
      replays: e.session ? e.session.graphSlots().reduce((n, x) => n + x.replays, 0) : 0,
    }));
  }

  release(): void {
    this.released = true;
    for (const e of this.entries.values()) e.session?.release();
    this.entries.clear();
    this.changes.release();
  }
}
