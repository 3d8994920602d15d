// Typed messages between the UI thread and the pixel worker. Every request carries a `seq` and a
// `channel`; the client keeps the latest seq per channel and drops older answers, so while the pointer
// moves only the newest render lands on screen.
import type { MaskStyle } from './raster.js';

/** COCO RLE as it crosses the contracts (pycocotools' compressed string counts). */
export interface RleData {
  size: [number, number];
  counts: string;
}

/** A rendered mask: RGBA pixels of its bounding box, placed at (x, y) in image pixels. */
export interface RenderedMask {
  x: number;
  y: number;
  width: number;
  height: number;
  /** RGBA, width*height*4 bytes; transferred, not copied. Empty when the mask is empty. */
  rgba: Uint8ClampedArray<ArrayBuffer>;
  area: number;
}

export type PixelRequest =
  | {
      kind: 'render';
      seq: number;
      channel: string;
      rle: RleData;
      color: string;
      alpha: number;
      style: MaskStyle;
    }
  | {
      kind: 'strokeBegin';
      seq: number;
      channel: string;
      strokeId: number;
      rle: RleData;
      color: string;
      x: number;
      y: number;
      radius: number;
      value: 0 | 1;
    }
  | {
      kind: 'strokeTo';
      seq: number;
      channel: string;
      strokeId: number;
      from: { x: number; y: number };
      to: { x: number; y: number };
      radius: number;
      value: 0 | 1;
    }
  | { kind: 'contour'; seq: number; channel: string; rle: RleData }
  | { kind: 'strokeCommit'; seq: number; channel: string; strokeId: number }
  | { kind: 'strokeDiscard'; seq: number; channel: string; strokeId: number };

export type PixelResponse =
  | { kind: 'rendered'; seq: number; channel: string; mask: RenderedMask }
  | {
      kind: 'committed';
      seq: number;
      channel: string;
      strokeId: number;
      rle: RleData;
      area: number;
      bbox: [number, number, number, number] | null;
    }
  | { kind: 'discarded'; seq: number; channel: string; strokeId: number }
  /** Outlines as flat [x0, y0, x1, y1, …] polygons in pixel-corner coordinates. */
  | { kind: 'contoured'; seq: number; channel: string; polygons: number[][] }
  | { kind: 'error'; seq: number; channel: string; message: string };
