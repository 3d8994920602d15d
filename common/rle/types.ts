/** COCO compressed RLE, as in instances.json: counts is pycocotools' LEB128-like string. */
export interface Rle {
  size: [height: number, width: number];
  counts: string;
}

/** Uncompressed RLE: column-major run lengths starting with a background (0) run. */
export interface RleCounts {
  size: [height: number, width: number];
  counts: number[];
}

/** Either form; every function that reads an RLE accepts both. */
export type AnyRle = Rle | RleCounts;
