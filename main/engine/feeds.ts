// Decoder feeds: an embedding record and encoded prompts as the tensors SAM's ONNX decoders take, for
// onnxruntime-node sessions and (as ortx host tensors, no copy) for the graph runtime's.
import ort from 'onnxruntime-node';
import { hostRecord, type EmbeddingRecord } from './cache.js';
import type { HostTensor } from './ortx.js';
import { LOW_RES } from './postprocess.js';
import type { EncodedPrompt } from './prompt.js';

const PLANE = LOW_RES * LOW_RES;

/** The embedding and any high-res features, as decoder feeds by name. */
export function embeddingFeeds(r: EmbeddingRecord): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = { image_embeddings: new ort.Tensor('float32', r.data, r.shape) };
  for (const x of r.extras) feeds[x.name] = new ort.Tensor('float32', x.data, x.shape);
  return feeds;
}

/**
 * Prompt feeds of a batched decoder. Prompt sets of different lengths share one tensor, padded with SAM's
 * (0,0)/−1 "not a point". With `broadcast` (the decoder accepts one mask input for the whole batch) and no
 * prompt carrying a mask, a single zero plane is sent instead of B of them (256 MB at B = 1024).
 */
export function promptFeeds(prompts: EncodedPrompt[], broadcast: boolean): Record<string, ort.Tensor> {
  const B = prompts.length;
  const n = Math.max(...prompts.map((p) => p.labels.length));
  const coords = new Float32Array(B * n * 2);
  const labels = new Float32Array(B * n).fill(-1);
  prompts.forEach((p, b) => {
    coords.set(p.coords, b * n * 2);
    labels.set(p.labels, b * n);
  });
  const feeds: Record<string, ort.Tensor> = {
    point_coords: new ort.Tensor('float32', coords, [B, n, 2]),
    point_labels: new ort.Tensor('float32', labels, [B, n]),
  };
  if (broadcast && prompts.every((p) => !p.maskInput)) {
    feeds.mask_input = new ort.Tensor('float32', new Float32Array(PLANE), [1, 1, LOW_RES, LOW_RES]);
    feeds.has_mask_input = new ort.Tensor('float32', new Float32Array(1), [1]);
    return feeds;
  }
  const masks = new Float32Array(B * PLANE);
  const hasMask = new Float32Array(B);
  prompts.forEach((p, b) => {
    if (p.maskInput) {
      masks.set(p.maskInput, b * PLANE);
      hasMask[b] = 1;
    }
  });
  feeds.mask_input = new ort.Tensor('float32', masks, [B, 1, LOW_RES, LOW_RES]);
  feeds.has_mask_input = new ort.Tensor('float32', hasMask, [B]);
  return feeds;
}

export const i64 = (values: number[]): ort.Tensor =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    [values.length],
  );

/** The record's embedding as ortx host feeds, once its host copy is there (the graph runtime's fallback). */
export async function hostEmbeddingFeeds(record: EmbeddingRecord): Promise<Record<string, HostTensor>> {
  return hostFeeds(embeddingFeeds(await hostRecord(record)));
}

/** onnxruntime-node tensors as ortx host tensors (same data, no copy). */
export function hostFeeds(feeds: Record<string, ort.Tensor>): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    out[name] = { type: t.type as HostTensor['type'], dims: [...t.dims], data: t.data as HostTensor['data'] };
  }
  return out;
}
