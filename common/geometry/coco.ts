import { maskToPolygons, type ContourOptions } from './contours.js';

/** Options for {@link maskToCocoPolygons}. */
export interface CocoPolygonOptions extends ContourOptions {
  /**
   * COCO polygons cannot hold holes: all parts of an annotation are united. 'bridge' (default) cuts each
   * hole into its object's outline along a zero-width slit (there and back along the same segment), which
   * pycocotools' even-odd rasterizer turns back into the hole exactly; 'drop' keeps outer outlines only,
   * filling the holes.
   */
  holes?: 'bridge' | 'drop';
}

/** Outer ring with each hole spliced in at the closest pair of vertices. */
function bridgeHoles(outer: number[], holes: number[][]): number[] {
  let ring = outer.slice();
  for (const hole of holes) {
    const hx = hole[0]!;
    const hy = hole[1]!;
    let best = 0;
    let bestD = Infinity;
    for (let i = 0; i < ring.length; i += 2) {
      const d = (ring[i]! - hx) ** 2 + (ring[i + 1]! - hy) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    // …, o_k, h_0, h_1, …, h_last, h_0, o_k, …: the slit o_k–h_0 is walked once each way.
    ring = [...ring.slice(0, best + 2), ...hole, hx, hy, ...ring.slice(best)];
  }
  return ring;
}

/**
 * A ROW-major mask (nonzero = inside) as COCO `segmentation` polygons: one `[x0, y0, x1, y1, ...]` per
 * 8-connected object, in pixel-corner coordinates. With tolerance 0 and holes bridged (the defaults),
 * pycocotools' frPyObjects+merge of the result (our `fromPolygons`) reproduces the mask exactly.
 */
export function maskToCocoPolygons(
  mask: Uint8Array,
  height: number,
  width: number,
  opts: CocoPolygonOptions = {},
): number[][] {
  const objects = maskToPolygons(mask, height, width, opts);
  return objects.map(([outer, ...holes]) =>
    opts.holes === 'drop' || holes.length === 0 ? outer! : bridgeHoles(outer!, holes),
  );
}
