// SAM's input transform: longest side to `inputSize`, per-channel mean/std, zero padding bottom/right.
// Pure functions: the pixel decoding itself is in image.ts.

/** Where an image sits in the model's square input frame. Shared with postprocess and AMG. */
export interface ImageGeometry {
  /** Original size as displayed (after EXIF orientation). */
  width: number;
  height: number;
  /** Size after scaling the longest side to inputSize (SAM's ResizeLongestSide). */
  resizedWidth: number;
  resizedHeight: number;
  /** Side of the square encoder input (1024 for SAM). */
  inputSize: number;
}

/** SAM's ResizeLongestSide.get_preprocess_shape: scale so the longest side is `inputSize`, round half up. */
export function geometryFor(width: number, height: number, inputSize: number): ImageGeometry {
  const scale = inputSize / Math.max(width, height);
  return {
    width,
    height,
    resizedWidth: Math.max(1, Math.floor(width * scale + 0.5)),
    resizedHeight: Math.max(1, Math.floor(height * scale + 0.5)),
    inputSize,
  };
}

/** Maps a point in original (displayed) pixels to the model's input frame (SAM's apply_coords). */
export function toInputFrame(g: ImageGeometry, x: number, y: number): [number, number] {
  return [x * (g.resizedWidth / g.width), y * (g.resizedHeight / g.height)];
}

/**
 * Turns interleaved 8-bit RGB of size resizedWidth×resizedHeight into the encoder's CHW float tensor
 * (1×3×S×S): (v − mean) / std, zero elsewhere. SAM pads after normalizing, so padding is 0, not −mean/std.
 */
export function normalizeToTensor(
  rgb: Uint8Array,
  g: ImageGeometry,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
): Float32Array {
  const S = g.inputSize;
  const plane = S * S;
  const out = new Float32Array(3 * plane);
  const w = g.resizedWidth;
  const [m0, m1, m2] = mean;
  const i0 = 1 / std[0];
  const i1 = 1 / std[1];
  const i2 = 1 / std[2];
  for (let y = 0; y < g.resizedHeight; y++) {
    let s = y * w * 3;
    let d = y * S;
    for (let x = 0; x < w; x++, d++) {
      out[d] = (rgb[s++]! - m0) * i0;
      out[plane + d] = (rgb[s++]! - m1) * i1;
      out[2 * plane + d] = (rgb[s++]! - m2) * i2;
    }
  }
  return out;
}
