// The synthetic batched-decoder feeds that ortx_ab.mjs and cuda_options.mjs time: b one-point prompts (with
// SAM's padding point) spread over the image, no mask input. One definition, so the two tools' decoder
// figures are of the same work.
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
