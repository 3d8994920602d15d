// The pixel worker's logic, DOM-free: decodes RLE, colors masks, holds brush buffers and re-encodes them.
// `pixels.worker.ts` only wires this to `self.onmessage`, so the logic is tested in Node.
import { decode, encodeCompressed } from '../../../common/rle/index.js';
import { traceContours } from './contours.js';
import type { PixelRequest, PixelResponse, RenderedMask, RleData } from './protocol.js';
import {
  hexToRgba,
  maskArea,
  maskBbox,
  maskToRgba,
  paintDisc,
  paintStroke,
  type MaskStyle,
} from './raster.js';

interface StrokeBuffer {
  mask: Uint8Array;
  width: number;
  height: number;
  color: string;
}

/** The brush preview alpha: the mask being edited is drawn a little stronger than the others. */
const BRUSH_ALPHA = 0.55;

/** Decodes COCO RLE into a row-major 0/1 mask, checking its size. */
export function decodeMask(rle: RleData): { mask: Uint8Array; width: number; height: number } {
  const [height, width] = rle.size;
  const mask = decode(rle);
  if (mask.length !== width * height)
    throw new RangeError(`RLE decodes to ${mask.length} pixels, size says ${height}×${width}`);
  return { mask, width, height };
}

/** Renders a row-major mask cropped to its bounding box. */
export function renderMask(
  mask: Uint8Array,
  width: number,
  height: number,
  color: string,
  alpha: number,
  style: MaskStyle,
): RenderedMask {
  const bbox = maskBbox(mask, width, height);
  if (!bbox) return { x: 0, y: 0, width: 0, height: 0, rgba: new Uint8ClampedArray(0), area: 0 };
  const [bx, by, bw, bh] = bbox;
  const crop = new Uint8Array(bw * bh);
  for (let y = 0; y < bh; y++)
    crop.set(mask.subarray((by + y) * width + bx, (by + y) * width + bx + bw), y * bw);
  // Cropping to the bbox keeps edge detection correct: a pixel on the crop border is on the mask border.
  const rgba = maskToRgba(crop, bw, bh, hexToRgba(color, alpha), style);
  return { x: bx, y: by, width: bw, height: bh, rgba, area: maskArea(crop) };
}

/** Holds brush buffers between messages; one instance per worker. */
export class PixelHandler {
  private readonly strokes = new Map<number, StrokeBuffer>();

  /** Number of brush buffers alive; a leak shows up here in tests. */
  get openStrokes(): number {
    return this.strokes.size;
  }

  /** Handles one request. Never throws: failures come back as `{kind:'error'}`. */
  handle(req: PixelRequest): PixelResponse {
    try {
      return this.dispatch(req);
    } catch (e) {
      return {
        kind: 'error',
        seq: req.seq,
        channel: req.channel,
        message: e instanceof Error ? e.message : String(e),
      };
    }
  }

  private buffer(strokeId: number): StrokeBuffer {
    const b = this.strokes.get(strokeId);
    if (!b) throw new Error(`no brush stroke ${strokeId} is open`);
    return b;
  }

  private dispatch(req: PixelRequest): PixelResponse {
    const { seq, channel } = req;
    switch (req.kind) {
      case 'render': {
        const { mask, width, height } = decodeMask(req.rle);
        return {
          kind: 'rendered',
          seq,
          channel,
          mask: renderMask(mask, width, height, req.color, req.alpha, req.style),
        };
      }
      case 'contour': {
        const { mask, width, height } = decodeMask(req.rle);
        return { kind: 'contoured', seq, channel, polygons: traceContours(mask, width, height) };
      }
      case 'strokeBegin': {
        const { mask, width, height } = decodeMask(req.rle);
        const buf = { mask, width, height, color: req.color };
        this.strokes.set(req.strokeId, buf);
        paintDisc(mask, width, height, req.x, req.y, req.radius, req.value);
        return {
          kind: 'rendered',
          seq,
          channel,
          mask: renderMask(mask, width, height, buf.color, BRUSH_ALPHA, 'solid'),
        };
      }
      case 'strokeTo': {
        const b = this.buffer(req.strokeId);
        paintStroke(b.mask, b.width, b.height, req.from, req.to, req.radius, req.value);
        return {
          kind: 'rendered',
          seq,
          channel,
          mask: renderMask(b.mask, b.width, b.height, b.color, BRUSH_ALPHA, 'solid'),
        };
      }
      case 'strokeCommit': {
        const b = this.buffer(req.strokeId);
        this.strokes.delete(req.strokeId);
        const rle = encodeCompressed(b.mask, b.height, b.width);
        return {
          kind: 'committed',
          seq,
          channel,
          strokeId: req.strokeId,
          rle,
          area: maskArea(b.mask),
          bbox: maskBbox(b.mask, b.width, b.height),
        };
      }
      case 'strokeDiscard':
        this.strokes.delete(req.strokeId);
        return { kind: 'discarded', seq, channel, strokeId: req.strokeId };
    }
  }
}
