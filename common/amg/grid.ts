// Point grids (SAM utils/amg.py: build_point_grid, build_all_layer_point_grids).

/**
 * A grid of n×n points evenly spaced in [0,1]², cell-centred, row by row (x varies fastest).
 * Returned flat: `[x0, y0, x1, y1, …]`.
 */
export function buildPointGrid(nPerSide: number): Float64Array {
  if (!Number.isInteger(nPerSide) || nPerSide < 1)
    throw new RangeError(`points per side must be a positive integer, got ${nPerSide}`);
  const offset = 1 / (2 * nPerSide);
  const out = new Float64Array(nPerSide * nPerSide * 2);
  // np.linspace(offset, 1 - offset, n): with n = 1 it is just [offset].
  const step = nPerSide === 1 ? 0 : (1 - 2 * offset) / (nPerSide - 1);
  for (let row = 0; row < nPerSide; row++) {
    for (let col = 0; col < nPerSide; col++) {
      const k = (row * nPerSide + col) * 2;
      out[k] = offset + col * step;
      out[k + 1] = offset + row * step;
    }
  }
  return out;
}

/** One grid per crop layer; layer i has `floor(nPerSide / scalePerLayer^i)` points per side. */
export function buildAllLayerPointGrids(
  nPerSide: number,
  nLayers: number,
  scalePerLayer: number,
): Float64Array[] {
  const grids: Float64Array[] = [];
  for (let i = 0; i <= nLayers; i++) {
    const n = Math.floor(nPerSide / scalePerLayer ** i);
    if (n < 1)
      throw new RangeError(
        `crop layer ${i} would have no points (pointsPerSide ${nPerSide}, downscale ${scalePerLayer})`,
      );
    grids.push(buildPointGrid(n));
  }
  return grids;
}
