// SamEngine: the caller's handle on a SAM model. Every onnxruntime session lives in a worker thread it
// owns, so the caller's event loop stays free; the worker is restarted on the next call if it dies.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULT_MEMORY_CACHE_BYTES, defaultCacheDir } from './cache.js';
import { deserializeError, EngineError, ImageError } from './errors.js';
import { loadModelInfo, type ModelManifest } from './manifest.js';
import type { ImageSource, InitPayload, WorkerRequest, WorkerResponse } from './protocol.js';
import type { Prompt } from './prompt.js';
import type {
  DecodeLowResOptions,
  EmbedResult,
  EngineInfo,
  EngineStats,
  CudaGraphsChoice,
  FastPathChoice,
  LowResResult,
  ManyMasksResult,
  MaskResult,
  SegmentManyOptions,
  ProviderChoice,
  ProviderInfo,
  SegmentOptions,
} from './types.js';

export interface SamEngineOptions {
  /** Folder with manifest.json and the ONNX files it names. */
  modelDir: string;
  /** Default `auto`: CUDA when its libraries load, else CPU (with the reason in providerInfo()). */
  provider?: ProviderChoice;
  /** Disk cache of embeddings; default defaultCacheDir(); `false` disables it. */
  cacheDir?: string | false;
  /** Memory LRU budget in bytes (default DEFAULT_MEMORY_CACHE_BYTES = 256 MiB). */
  memoryCacheBytes?: number;
  /** GPU fast path (see FastPathChoice); default `auto`: on when CUDA runs the model. */
  fastPath?: FastPathChoice;
  /**
   * Encoder and batched decoder as CUDA graphs through ortx (see CudaGraphsChoice). Default `auto`: on with
   * CUDA when ortx is built — a click's decoder stage halves on the H100 (docs/gpu.md, run 13).
   */
  cudaGraphs?: CudaGraphsChoice;
}

/** An image: a file path, its bytes, or the key of an embedding computed before. */
export type ImageInput = string | Uint8Array | { key: string };

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

const KEY_RE = /^[0-9a-f]{64}$/;

function toSource(input: ImageInput): ImageSource {
  if (input instanceof Uint8Array) {
    // Copy, then move the copy: the caller's buffer stays usable and nothing is cloned twice.
    return { bytes: new Uint8Array(input) };
  }
  if (typeof input === 'string') {
    if (KEY_RE.test(input) && !existsSync(input)) return { key: input };
    return { path: input };
  }
  if (input && typeof input === 'object' && typeof (input as { key?: unknown }).key === 'string')
    return { key: input.key };
  throw new ImageError('bad_input', 'an image is a path, a Uint8Array/Buffer or {key}');
}

/**
 * Starts the worker: the compiled worker.js next to this file (dist/), or under tsx/vitest the .ts source.
 * Hack: on Node 20 a worker's `execArgv: ['--import','tsx']` does not apply to the worker's own entry
 * (ERR_UNKNOWN_FILE_EXTENSION), so a two-line bootstrap registers tsx and then imports the source.
 */
function spawnWorker(): Worker {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js);
  const ts = new URL('./worker.ts', import.meta.url);
  const tsxApi = pathToFileURL(tsxEsmApi()).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(ts.href)}); });`;
  return new Worker(boot, { eval: true });
}

/** Path of tsx's ESM API (its "import" export; require.resolve would give the CommonJS one). */
function tsxEsmApi(): string {
  const pkgFile = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return path.join(path.dirname(pkgFile), pkg.exports['./esm/api']!.import.default);
}

/** A SAM model loaded in a worker thread, with embedding caches. Create with `SamEngine.create`. */
export class SamEngine {
  private worker: Worker | null = null;
  private starting: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private info!: EngineInfo;
  private restarts = 0;

  private constructor(private readonly init: InitPayload) {}

  /**
   * Loads the model in a new worker: validates the manifest, picks the provider, checks the ONNX
   * interfaces. Throws EngineError (manifest_*, model_file_missing, model_load_failed, model_mismatch).
   */
  static async create(opts: SamEngineOptions): Promise<SamEngine> {
    const info = loadModelInfo(opts.modelDir); // fail fast, before a thread starts
    const provider = opts.provider ?? 'auto';
    if (!['auto', 'cuda', 'cpu'].includes(provider)) {
      throw new EngineError(
        'provider_unavailable',
        `unknown provider "${String(provider)}" (auto, cuda or cpu)`,
      );
    }
    const memoryCacheBytes = opts.memoryCacheBytes ?? DEFAULT_MEMORY_CACHE_BYTES;
    if (!(Number.isFinite(memoryCacheBytes) && memoryCacheBytes >= 0)) {
      throw new EngineError('internal', 'memoryCacheBytes must be a number ≥ 0');
    }
    const cacheDir = opts.cacheDir === false ? null : (opts.cacheDir ?? defaultCacheDir());
    if (cacheDir && existsSync(cacheDir) && !statSync(cacheDir).isDirectory()) {
      throw new EngineError('internal', `cacheDir is not a folder: ${cacheDir}`);
    }
    const fastPath = opts.fastPath ?? 'auto';
    if (!['auto', 'on', 'off'].includes(fastPath)) {
      throw new EngineError('internal', `unknown fastPath "${String(fastPath)}" (auto, on or off)`);
    }
    const cudaGraphs = opts.cudaGraphs ?? 'auto';
    if (!['auto', 'on', 'off'].includes(cudaGraphs)) {
      throw new EngineError('internal', `unknown cudaGraphs "${String(cudaGraphs)}" (auto, on or off)`);
    }
    const engine = new SamEngine({
      modelDir: info.dir,
      provider,
      cacheDir,
      memoryCacheBytes,
      fastPath,
      cudaGraphs,
    });
    await engine.ensureWorker();
    return engine;
  }

  /** The model's validated manifest. */
  get model(): ModelManifest {
    return this.info.model;
  }

  /** Which provider runs the model, and why CUDA is not used when it is not. */
  providerInfo(): ProviderInfo {
    return { ...this.info.provider };
  }

  /** Model, provider and the recognized decoder formats. */
  describe(): EngineInfo {
    return structuredClone(this.info);
  }

  /** How many times the worker was restarted after dying. */
  get workerRestarts(): number {
    return this.restarts;
  }

  /** Encodes an image (or finds its embedding in a cache). */
  embed(image: ImageInput): Promise<EmbedResult> {
    const source = toSource(image);
    return this.request<EmbedResult>('embed', { source }, transferOf(source));
  }

  /** One mask for a prompt on an image (encoding it first when no cache has its embedding). */
  segment(image: ImageInput, prompt: Prompt, opts?: SegmentOptions): Promise<MaskResult> {
    const source = toSource(image);
    return this.request<MaskResult>('segment', { source, prompt, opts }, transferOf(source));
  }

  /**
   * Low-res logits and IoU predictions for many prompts on an embedded image (for automatic mask
   * generation). Uses the batched decoder in chunks of ≤ pointsPerBatch when the model has one.
   */
  decodeLowRes(key: string, prompts: Prompt[], opts?: DecodeLowResOptions): Promise<LowResResult> {
    return this.request<LowResResult>('decodeLowRes', { key, prompts, opts });
  }

  /**
   * One full-resolution mask per prompt on an embedded image (many objects of one image at once): batched
   * decoder calls, and on the fast path the upscaling and RLE run starts computed on the GPU.
   */
  segmentMany(key: string, prompts: Prompt[], opts?: SegmentManyOptions): Promise<ManyMasksResult> {
    return this.request<ManyMasksResult>('segmentMany', { key, prompts, opts });
  }

  /** Counters and cache occupancy (from the current worker). */
  stats(): Promise<EngineStats> {
    return this.request<EngineStats>('stats', {});
  }

  /**
   * Sends any registered worker op (see worker-ops.ts). Errors come back as EngineError/ImageError.
   * If the worker died since the last call, a new one is started and the model reloaded first.
   */
  async request<T>(op: string, payload: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    await this.ensureWorker();
    return this.post<T>(op, payload, transfer);
  }

  /** Stops the worker and releases the model. Calls after close() fail with EngineError `closed`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    this.failAll(new EngineError('closed', 'the engine was closed'));
    if (w) await w.terminate();
  }

  /** Test hook: kills the worker as a crash would (the next call restarts it). */
  async killWorkerForTesting(): Promise<void> {
    await this.worker?.terminate();
  }

  private post<T>(op: string, payload: unknown, transfer: ArrayBuffer[]): Promise<T> {
    const w = this.worker;
    if (!w)
      return Promise.reject(
        new EngineError(this.closed ? 'closed' : 'worker_crashed', 'the engine worker is not running'),
      );
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const req: WorkerRequest = { id, op, payload };
      try {
        w.postMessage(req, transfer);
      } catch (err) {
        this.pending.delete(id);
        reject(
          new EngineError('bad_prompt', `request cannot be sent to the worker: ${(err as Error).message}`),
        );
      }
    });
  }

  private ensureWorker(): Promise<void> {
    if (this.closed) return Promise.reject(new EngineError('closed', 'the engine was closed'));
    if (this.worker && !this.starting) return Promise.resolve();
    if (this.starting) return this.starting;
    this.starting = this.start().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async start(): Promise<void> {
    const w = spawnWorker();
    this.worker = w;
    w.on('message', (res: WorkerResponse) => {
      const p = this.pending.get(res.id);
      if (!p) return;
      this.pending.delete(res.id);
      if (res.ok && res.fastPath && this.info) this.info = { ...this.info, fastPath: res.fastPath };
      if (res.ok) p.resolve(res.value);
      else p.reject(deserializeError(res.error));
    });
    w.on('error', (err) => this.onWorkerGone(w, `the engine worker crashed: ${err.message}`));
    w.on('exit', (code) => this.onWorkerGone(w, `the engine worker exited (code ${code})`));
    try {
      this.info = await this.post<EngineInfo>('init', this.init, []);
    } catch (err) {
      if (this.worker === w) this.worker = null;
      await w.terminate();
      throw err;
    }
  }

  private onWorkerGone(w: Worker, reason: string): void {
    if (this.worker !== w) return;
    this.worker = null;
    if (!this.closed) this.restarts++;
    this.failAll(new EngineError(this.closed ? 'closed' : 'worker_crashed', reason));
  }

  private failAll(err: EngineError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}

function transferOf(s: ImageSource): ArrayBuffer[] {
  return 'bytes' in s ? [s.bytes.buffer as ArrayBuffer] : [];
}
