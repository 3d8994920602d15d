// Turns worker-rendered RGBA into canvases Konva can draw, with a small cache keyed by content.
import { useEffect, useRef, useState } from 'react';
import type { PixelClient } from '../pixels/client.js';
import type { RenderedMask, RleData } from '../pixels/protocol.js';
import type { MaskStyle } from '../pixels/raster.js';

export interface MaskBitmap {
  canvas: HTMLCanvasElement;
  x: number;
  y: number;
}

/** Copies a rendered mask into a canvas; null for an empty mask. */
export function toBitmap(m: RenderedMask): MaskBitmap | null {
  if (m.width === 0 || m.height === 0) return null;
  const canvas = document.createElement('canvas');
  canvas.width = m.width;
  canvas.height = m.height;
  canvas.getContext('2d')!.putImageData(new ImageData(m.rgba, m.width, m.height), 0, 0);
  return { canvas, x: m.x, y: m.y };
}

/**
 * Renders one mask in the pixel worker and returns its bitmap. `channel` identifies the slot (an
 * annotation id, "candidate", "hover"): a newer request on the same slot makes older answers stale.
 */
export function useMaskBitmap(
  pixels: PixelClient,
  channel: string,
  rle: RleData | null,
  color: string,
  alpha: number,
  style: MaskStyle,
): { bitmap: MaskBitmap | null; rle: RleData | null } {
  const [state, setState] = useState<{ bitmap: MaskBitmap | null; rle: RleData | null }>({
    bitmap: null,
    rle: null,
  });
  // Keyed by content, not identity: a refetch hands over equal RLE objects, which must not re-render.
  const key = rle ? `${rle.size[0]}x${rle.size[1]}:${rle.counts}` : null;
  const latest = useRef(rle);
  latest.current = rle;
  useEffect(() => {
    const current = latest.current;
    if (!current) {
      pixels.invalidate(channel);
      setState({ bitmap: null, rle: null });
      return;
    }
    let live = true;
    void pixels.request({ kind: 'render', channel, rle: current, color, alpha, style }).then((res) => {
      if (live && res?.kind === 'rendered') setState({ bitmap: toBitmap(res.mask), rle: current });
    });
    return () => {
      live = false;
    };
  }, [pixels, channel, key, color, alpha, style]);
  return state;
}

/** Outline polygons of a mask, traced in the pixel worker (empty while none / pending). */
export function useContours(pixels: PixelClient, channel: string, rle: RleData | null): number[][] {
  const [polys, setPolys] = useState<number[][]>([]);
  const key = rle ? `${rle.size[0]}x${rle.size[1]}:${rle.counts}` : null;
  const latest = useRef(rle);
  latest.current = rle;
  useEffect(() => {
    const current = latest.current;
    if (!current) {
      pixels.invalidate(channel);
      setPolys([]);
      return;
    }
    let live = true;
    void pixels.request({ kind: 'contour', channel, rle: current }).then((res) => {
      if (live && res?.kind === 'contoured') setPolys(res.polygons);
    });
    return () => {
      live = false;
    };
  }, [pixels, channel, key]);
  return polys;
}
