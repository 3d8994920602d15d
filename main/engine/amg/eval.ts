// Scoring generated masks against instance ground truth (the fixture shapes scenes): used by the AMG tests
// and the bench, so both report the same figures.
import sharp from 'sharp';
import { encodeCompressed, iou as rleIou, type Rle } from '../../../common/rle/index.js';

/** Instance masks of a 16-bit id image (0 = background, k = instance k), as RLE, in id order. */
export async function loadInstanceMasks(
  idsPng: string,
): Promise<{ width: number; height: number; instances: { id: number; rle: Rle; area: number }[] }> {
  const { data, info } = await sharp(idsPng)
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const ids = new Uint16Array(data.buffer, data.byteOffset, width * height);
  const present = new Map<number, number>();
  for (const v of ids) if (v) present.set(v, (present.get(v) ?? 0) + 1);
  const instances = [...present.keys()]
    .sort((a, b) => a - b)
    .map((id) => {
      const m = new Uint8Array(width * height);
      for (let p = 0; p < m.length; p++) m[p] = ids[p] === id ? 1 : 0;
      return { id, rle: encodeCompressed(m, height, width), area: present.get(id)! };
    });
  return { width, height, instances };
}

/** For each ground-truth mask, the best mask IoU among `masks`; recall = share of GT with best ≥ `iouThr`. */
export function bestMatchRecall(
  masks: readonly Rle[],
  gts: readonly Rle[],
  iouThr: number,
): { recall: number; best: number[] } {
  const best = gts.map((g) => masks.reduce((b, m) => Math.max(b, rleIou(m, g)), 0));
  const hit = best.filter((b) => b >= iouThr).length;
  return { recall: gts.length ? hit / gts.length : 1, best };
}
