// What the timing tools share: their argument handling, statistics, the synthetic decoder feeds ortx_ab.mjs
// and cuda_options.mjs time (one definition, so the two tools' decoder figures are of the same work), and the
// raw-file exchange ort_time.mjs and encoder_ab.mjs have with their Python drivers (ort_variants.py's
// write_feeds / read_outputs).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Removes `name <value>` from args and gives the value, or dflt when absent. */
export function takeOption(args, name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : dflt;
}

/** The q-quantile of xs (0.5: the median as both tools report it). */
export function quantile(xs, q) {
  return [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
}

/** Largest absolute difference between two equally long numeric arrays. */
export function maxAbs(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

/** b one-point prompts (with SAM's padding point) spread over the image, no mask input. */
export function decoderFeeds(embeddings, b) {
  const coords = Float32Array.from({ length: b * 4 }, (_, i) => (i % 4 < 2 ? 100 + ((i * 37) % 800) : 0));
  const labels = Float32Array.from({ length: b * 2 }, (_, i) => (i % 2 ? -1 : 1));
  return {
    ...embeddings,
    point_coords: { type: 'float32', dims: [b, 2, 2], data: coords },
    point_labels: { type: 'float32', dims: [b, 2], data: labels },
    mask_input: { type: 'float32', dims: [1, 1, 256, 256], data: new Float32Array(65536) },
    has_mask_input: { type: 'float32', dims: [1], data: new Float32Array(1) },
  };
}

const ARRAYS = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array };

/** <dir>/feeds.json ([{name, dtype, shape, file}], raw little-endian files) as host tensors by name. */
export function readFeeds(dir) {
  const feeds = {};
  for (const f of JSON.parse(readFileSync(path.join(dir, 'feeds.json'), 'utf8'))) {
    const buf = readFileSync(path.join(dir, f.file));
    const Arr = ARRAYS[f.dtype];
    feeds[f.name] = {
      type: f.dtype,
      dims: f.shape,
      data: new Arr(buf.buffer, buf.byteOffset, buf.byteLength / Arr.BYTES_PER_ELEMENT),
    };
  }
  return feeds;
}

/** Writes outputs ({name: {type, dims, data}}) as <dir>/<prefix><name>.bin; returns their descriptions. */
export function writeOutputs(dir, prefix, outputs) {
  return Object.entries(outputs).map(([name, t]) => {
    const file = `${prefix}${name}.bin`;
    writeFileSync(path.join(dir, file), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    return { name, dtype: t.type, shape: t.dims, file };
  });
}
