/**
 * The COCO RLE codec: masks as column-major run lengths, pycocotools' compressed strings, and the
 * operations on runs (area, box, merge, IoU, polygon and box rasterization), all byte-identical to
 * pycocotools. See docs/rle.md for the format with worked examples.
 */
export type { Rle, RleCounts, AnyRle } from './types.js';
export { RleError, type RleErrorCode } from './errors.js';
export { asciiToString, countsToString, countsFromString } from './strings.js';
export { encode, encodeCompressed, decode, decodeInto, compress, decompress } from './codec.js';
export { area, toBbox, merge, iou } from './ops.js';
export { fromPolygons, fromBbox } from './polygon.js';
export { validate } from './validate.js';
export { summarizeRunStarts, type RleSummary } from './runs.js';
