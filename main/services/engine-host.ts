// Hosts the ONE SamEngine of a backend (its ONNX sessions live in the engine's worker thread) for the
// active model: started lazily, restarted on a model switch. Also keeps, per open project, which image
// has which embedding key and the low-res logits of recent masks for refinement.
import { AppError, type ProviderInfo } from '../../common/contracts/index.js';
import { SamEngine, type ProviderChoice } from '../engine/index.js';
import type { ModelStore } from './models-store.js';

/** 256×256 float32 logits = 256 KiB each; 64 of them bound refinement state at 16 MiB. */
export const LOW_RES_CACHE_ENTRIES = 64;

export interface EngineHostOptions {
  provider: ProviderChoice;
  /** Disk cache of embeddings (false: memory only). */
  cacheDir: string | false;
  memoryCacheBytes?: number;
  log: (line: string) => void;
}

interface LowResEntry {
  imageId: number;
  logits: Float32Array;
}

export class EngineHost {
  private engine: SamEngine | null = null;
  private starting: Promise<SamEngine> | null = null;
  private modelId: string | null = null;
  private readonly lowRes = new Map<string, LowResEntry>();
  private nextLowRes = 1;
  /** imageId → embedding key (sha256 of the file) for the open project. */
  readonly keys = new Map<number, string>();

  constructor(
    private readonly models: ModelStore,
    private readonly opts: EngineHostOptions,
  ) {}

  /** The engine for the active model, started on first use. */
  async get(): Promise<SamEngine> {
    if (this.engine) return this.engine;
    if (this.starting) return this.starting;
    const id = this.models.activeId();
    this.starting = (async () => {
      try {
        const engine = await SamEngine.create({
          modelDir: this.models.dirOf(id),
          provider: this.opts.provider,
          cacheDir: this.opts.cacheDir,
          ...(this.opts.memoryCacheBytes !== undefined
            ? { memoryCacheBytes: this.opts.memoryCacheBytes }
            : {}),
        });
        this.engine = engine;
        this.modelId = id;
        const p = engine.providerInfo();
        this.opts.log(
          `engine: model ${id} on ${p.active}${p.fallbackReason ? ` (${p.fallbackReason})` : ''}` +
            (p.active === 'cuda' ? `; ${gpuPathLine(engine)}` : upscaleNote(engine)),
        );
        return engine;
      } finally {
        this.starting = null;
      }
    })();
    return this.starting;
  }

  /** Switches model: stops the current worker; the next call starts the new one. */
  async setActive(id: string): Promise<ProviderInfo> {
    const previous = this.models.activeId();
    this.models.setActive(id);
    await this.stop();
    try {
      await this.get();
    } catch (e) {
      // A model that does not load must not become the one every later call fails on.
      this.models.setActive(previous);
      throw e;
    }
    return this.providerInfo();
  }

  /** What the contract reports: provider, why, active model. Starts the engine if needed. */
  async providerInfo(): Promise<ProviderInfo> {
    const engine = await this.get();
    const p = engine.providerInfo();
    const reason =
      p.active === 'cuda'
        ? 'CUDA execution provider loaded'
        : (p.fallbackReason ?? (p.requested === 'cpu' ? 'CPU was requested' : 'CPU execution provider'));
    return {
      provider: p.active,
      reason,
      modelId: this.modelId,
      device: p.active === 'cuda' ? 'cuda:0' : 'cpu',
    };
  }

  /** Keeps low-res logits for refinement; returns their handle. Oldest entries are dropped beyond the budget. */
  keepLowRes(imageId: number, logits: Float32Array): string {
    const id = `lr-${imageId}-${this.nextLowRes++}`;
    this.lowRes.set(id, { imageId, logits });
    while (this.lowRes.size > LOW_RES_CACHE_ENTRIES)
      this.lowRes.delete(this.lowRes.keys().next().value as string);
    return id;
  }

  /** Logits of a handle for this image; NOT_FOUND when expired or from another image. */
  lowResFor(id: string, imageId: number): Float32Array {
    const e = this.lowRes.get(id);
    if (!e || e.imageId !== imageId) {
      throw new AppError(
        'NOT_FOUND',
        `mask input ${id} is unknown or expired for image ${imageId}; segment again without it`,
      );
    }
    return e.logits;
  }

  /** Forgets per-project state (project closed or switched). */
  resetProjectState(): void {
    this.keys.clear();
    this.lowRes.clear();
  }

  /** Stops the worker. */
  async stop(): Promise<void> {
    const e = this.engine ?? (this.starting ? await this.starting.catch(() => null) : null);
    this.engine = null;
    this.modelId = null;
    this.resetProjectState();
    await e?.close();
  }
}

/** What of the GPU path is on, and why not where it is off: the first thing to read when a GPU seems slow. */
function gpuPathLine(engine: SamEngine): string {
  const f = engine.describe().fastPath;
  const host = upscaleNote(engine);
  if (!f.active) return `fast path off (${f.reason ?? '?'})${host}`;
  // Without the graph runtime the reason is the CUDA graphs' own, already on the line.
  const amg = f.amgResident
    ? '; AMG decoder on the device-resident embedding'
    : f.amgResidentReason !== null && f.amgResidentReason !== f.cudaGraphs
      ? `; AMG decoder not on the device-resident embedding (${f.amgResidentReason})`
      : '';
  const jpeg = f.imageDecode === null ? '' : `; JPEG frames decoded by sharp (${f.imageDecode})`;
  return `fast path on; CUDA graphs: ${f.cudaGraphs ?? 'on'}; mask post-processing: ${f.postprocess ?? '?'}${amg}${jpeg}${host}`;
}

/** Said only when masks are upscaled by the TypeScript (several times slower than the native one). */
function upscaleNote(engine: SamEngine): string {
  const u = engine.describe().upscale;
  return u.reason === null ? '' : `; masks upscaled in TypeScript (${u.reason})`;
}
