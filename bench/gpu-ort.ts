// onnxruntime-node pieces of the GPU bench (bench/gpu.ts): a model folder loaded straight into sessions, prompt
// helpers shared with native-models/reference, and RLE from the GPU post-processing graph's run starts.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { Rle } from '../common/rle/index.js';
import { masksFromChanges } from '../main/engine/graphs.js';
import { toInputFrame, type ImageGeometry } from '../main/engine/preprocess.js';

export const MEAN = [123.675, 116.28, 103.53] as const;
export const STD = [58.395, 57.12, 57.375] as const;
export const MPS_PROMPTS = 32; // as native-models/reference
export const MAP = 256 * 256;
export const BLOG = { amg: [741, 112], sps: [98, 20], mps: [269, 38] } as const; // ms, eager fp32 → exported fp16

export type Task = 'sps' | 'mps' | 'amg';
export const TASKS: Task[] = ['sps', 'mps', 'amg'];

export interface Manifest {
  id: string;
  family: 'sam' | 'sam2';
  highResFeatures?: { name: string; shape: number[] }[];
}

/** Thrown when the bench's inputs (exported models, reference outputs) are missing or inconsistent. */
export class GpuBenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuBenchError';
  }
}

/** One model folder loaded straight into onnxruntime sessions (the engine has no SAM2 high-res path yet). */
export class OrtSam {
  private constructor(
    readonly manifest: Manifest,
    private readonly encoder: ort.InferenceSession,
    private readonly single: ort.InferenceSession | null,
    private readonly batched: ort.InferenceSession,
    private readonly post: ort.InferenceSession | null,
    readonly loadMs: number,
  ) {}

  get gpuPost(): boolean {
    return this.post !== null;
  }

  /**
   * COCO RLE of k selected low-res logit maps, upscaled and thresholded on the GPU by postprocess.onnx, which
   * returns only where runs start (column-major), so neither K·H·W bytes nor a per-pixel JS loop are needed.
   */
  async rles(lowRes: Float32Array, picks: number[], g: ImageGeometry): Promise<Rle[]> {
    if (!this.post) throw new GpuBenchError('postprocess.onnx was not loaded');
    const sel = new Float32Array(picks.length * MAP);
    picks.forEach((idx, k) => sel.set(lowResSlice(lowRes, idx), k * MAP));
    const out = await this.post.run({
      low_res_masks: new ort.Tensor('float32', sel, [picks.length, 256, 256]),
      orig_im_size: new ort.Tensor('float32', new Float32Array([g.height, g.width]), [2]),
    });
    const first = out.first!.data as Uint8Array;
    const changes = out.changes!.data as BigInt64Array;
    return rlesFromChanges(first, changes, g.height, g.width);
  }

  static async load(dir: string, provider: 'cuda' | 'cpu', withSingle = false): Promise<OrtSam> {
    const file = path.join(dir, 'manifest.json');
    if (!existsSync(file))
      throw new GpuBenchError(`no exported model at ${dir} (run native-models/export first)`);
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    const so: ort.InferenceSession.SessionOptions = {
      executionProviders: provider === 'cuda' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    };
    const t0 = performance.now();
    const encoder = await ort.InferenceSession.create(path.join(dir, 'encoder.onnx'), so);
    const single = withSingle ? await ort.InferenceSession.create(path.join(dir, 'decoder.onnx'), so) : null;
    const batched = await ort.InferenceSession.create(path.join(dir, 'decoder_batched.onnx'), so);
    const postFile = path.join(dir, 'postprocess.onnx');
    const post = existsSync(postFile) ? await ort.InferenceSession.create(postFile, so) : null;
    return new OrtSam(manifest, encoder, single, batched, post, performance.now() - t0);
  }

  /** Encoder outputs by name: image_embeddings (+ SAM2 high_res_feats_0/1), fed back to the decoders as is. */
  async embed(image: Float32Array): Promise<Record<string, ort.Tensor>> {
    const out = await this.encoder.run({ image: new ort.Tensor('float32', image, [1, 3, 1024, 1024]) });
    return out as Record<string, ort.Tensor>;
  }

  /** B prompt sets of N points each (coords in the 1024 input frame) → iou [B,4], lowRes [B,4,256,256]. */
  async decode(
    feats: Record<string, ort.Tensor>,
    coords: Float32Array,
    labels: Float32Array,
    b: number,
    n: number,
  ) {
    const out = await this.batched.run({
      ...feats,
      point_coords: new ort.Tensor('float32', coords, [b, n, 2]),
      point_labels: new ort.Tensor('float32', labels, [b, n]),
      mask_input: new ort.Tensor('float32', new Float32Array(b * MAP), [b, 1, 256, 256]),
      has_mask_input: new ort.Tensor('float32', new Float32Array(b), [b]),
    });
    return {
      iou: out.iou_predictions!.data as Float32Array,
      lowRes: out.low_res_masks!.data as Float32Array,
    };
  }

  /** The official one-prompt-set decoder (SamOnnxModel format): the plain path of the fixture comparison. */
  async decodeSingle(
    feats: Record<string, ort.Tensor>,
    coords: Float32Array,
    labels: Float32Array,
    g: ImageGeometry,
  ) {
    if (!this.single) throw new GpuBenchError('decoder.onnx was not loaded');
    const n = labels.length;
    const out = await this.single.run({
      ...feats,
      point_coords: new ort.Tensor('float32', coords, [1, n, 2]),
      point_labels: new ort.Tensor('float32', labels, [1, n]),
      mask_input: new ort.Tensor('float32', new Float32Array(MAP), [1, 1, 256, 256]),
      has_mask_input: new ort.Tensor('float32', new Float32Array(1), [1]),
      orig_im_size: new ort.Tensor('float32', new Float32Array([g.height, g.width]), [2]),
    });
    return {
      iou: out.iou_predictions!.data as Float32Array,
      lowRes: out.low_res_masks!.data as Float32Array,
    };
  }

  async release(): Promise<void> {
    await this.encoder.release();
    await this.single?.release();
    await this.batched.release();
    await this.post?.release();
  }
}

/** Each point its own prompt set: the point (label 1) plus SAM's padding point (label −1). */
export function onePointPrompts(points: ArrayLike<number>, g: ImageGeometry) {
  const n = points.length / 2;
  const coords = new Float32Array(n * 4);
  const labels = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const [x, y] = toInputFrame(g, points[2 * i]!, points[2 * i + 1]!);
    coords[4 * i] = x;
    coords[4 * i + 1] = y;
    labels[2 * i] = 1;
    labels[2 * i + 1] = -1;
  }
  return { coords, labels, n };
}

/** native-models/reference's prompt_points: the same LCG, so both sides prompt the same pixels. */
export function promptPoints(stem: string, h: number, w: number, n: number): Float64Array {
  let s = 0;
  for (let i = 0; i < stem.length; i++) s += (i + 1) * stem.charCodeAt(i);
  s %= 2 ** 31;
  const pts = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    s = Number((BigInt(s) * 1103515245n + 12345n) % 2147483648n);
    pts[2 * i] = (s / 2147483648) * (w - 1);
    s = Number((BigInt(s) * 1103515245n + 12345n) % 2147483648n);
    pts[2 * i + 1] = (s / 2147483648) * (h - 1);
  }
  return pts;
}

export function lowResSlice(lowRes: Float32Array, idx: number): Float32Array {
  return lowRes.subarray(idx * MAP, (idx + 1) * MAP);
}

/**
 * RLEs from postprocess.onnx's outputs: `first[k]` (mask k's first pixel) and `changes` [M, 2] pairs (k, i) for
 * each i where column-major pixel i+1 differs from pixel i, sorted by k then i (NonZero's order).
 */
export function rlesFromChanges(first: Uint8Array, changes: BigInt64Array, h: number, w: number): Rle[] {
  // The engine's graphs send only the pixel indices plus a count per mask; one routine serves both.
  const m = changes.length / 2;
  const runs = new Int32Array(first.length);
  const pixels = new Int32Array(m);
  let last = 0;
  for (let j = 0; j < m; j++) {
    const k = Number(changes[2 * j]);
    if (!(k >= 0 && k < first.length)) throw new RangeError(`post-processing change ${j} is for mask ${k}`);
    if (k < last) throw new RangeError('post-processing changes are not sorted by mask');
    runs[k]!++;
    last = k;
    pixels[j] = Number(changes[2 * j + 1]);
  }
  return masksFromChanges(first, runs, pixels, h, w).map((s) => s.rle);
}
