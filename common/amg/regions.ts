// Removal of small islands and holes (SAM utils/amg.py: remove_small_regions, which uses OpenCV's
// connectedComponentsWithStats with 8-connectivity).

/** Which small regions to remove: holes are filled, islands are erased. */
export type RegionMode = 'holes' | 'islands';

/**
 * Labels the 8-connected components of the set pixels of a row-major binary image. Returns labels
 * (0 = unset, 1…n = components in raster order of their first pixel) and each component's size (index 0
 * counts unset pixels), as OpenCV numbers them.
 */
export function connectedComponents8(
  img: Uint8Array,
  h: number,
  w: number,
): { labels: Int32Array; sizes: number[] } {
  if (img.length !== h * w) throw new RangeError(`image has ${img.length} pixels, expected ${h}×${w}`);
  const labels = new Int32Array(h * w);
  const sizes = [0];
  const stack: number[] = [];
  let next = 0;
  for (let p = 0; p < h * w; p++) {
    if (!img[p]) {
      sizes[0]!++;
      continue;
    }
    if (labels[p]) continue;
    next++;
    let size = 0;
    labels[p] = next;
    stack.push(p);
    while (stack.length > 0) {
      const q = stack.pop()!;
      size++;
      const qy = (q / w) | 0;
      const qx = q - qy * w;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = qy + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = qx + dx;
          if ((dx === 0 && dy === 0) || nx < 0 || nx >= w) continue;
          const n = ny * w + nx;
          if (img[n] && !labels[n]) {
            labels[n] = next;
            stack.push(n);
          }
        }
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

/**
 * Removes connected regions smaller than `areaThresh` pixels: in `holes` mode fills small 8-connected
 * components of the unset pixels (the outside too, if it is small), in `islands` mode erases small
 * components of the set pixels, keeping the largest if all are small. Returns a new mask and whether it
 * changed; the input is not modified.
 */
export function removeSmallRegions(
  mask: Uint8Array,
  h: number,
  w: number,
  areaThresh: number,
  mode: RegionMode,
): { mask: Uint8Array; changed: boolean } {
  const holes = mode === 'holes';
  const working = new Uint8Array(h * w);
  for (let p = 0; p < working.length; p++) working[p] = (mask[p] ? 1 : 0) ^ (holes ? 1 : 0);
  const { labels, sizes } = connectedComponents8(working, h, w);
  const small = new Uint8Array(sizes.length);
  let anySmall = false;
  for (let l = 1; l < sizes.length; l++) {
    if (sizes[l]! < areaThresh) {
      small[l] = 1;
      anySmall = true;
    }
  }
  if (!anySmall) return { mask, changed: false };
  // keep[l] = 1 when pixels of label l end up set in the output.
  const keep = new Uint8Array(sizes.length);
  if (holes) {
    keep[0] = 1; // label 0 of the inverted image is the mask itself
    for (let l = 1; l < sizes.length; l++) keep[l] = small[l]!;
  } else {
    let any = false;
    for (let l = 1; l < sizes.length; l++) {
      keep[l] = small[l] ? 0 : 1;
      if (keep[l]) any = true;
    }
    if (!any) {
      let best = 1;
      for (let l = 2; l < sizes.length; l++) if (sizes[l]! > sizes[best]!) best = l;
      keep[best] = 1;
    }
  }
  const out = new Uint8Array(h * w);
  for (let p = 0; p < out.length; p++) out[p] = keep[labels[p]!]!;
  return { mask: out, changed: true };
}
