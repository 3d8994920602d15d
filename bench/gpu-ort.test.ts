import { describe, expect, it } from 'vitest';
import { decode, encodeCompressed } from '../common/rle/index.js';
import { promptPoints, rlesFromChanges } from './gpu-ort.js';

/** What postprocess.onnx returns for row-major masks: first pixels and (k, i) where column-major i+1 ≠ i. */
function runStarts(masks: Uint8Array[], h: number, w: number) {
  const first = new Uint8Array(masks.length);
  const changes: bigint[] = [];
  masks.forEach((m, k) => {
    const col = new Uint8Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) col[x * h + y] = m[y * w + x]!;
    first[k] = col[0]!;
    for (let i = 0; i + 1 < col.length; i++) if (col[i + 1] !== col[i]) changes.push(BigInt(k), BigInt(i));
  });
  return { first, changes: BigInt64Array.from(changes) };
}

describe('rlesFromChanges', () => {
  it('gives the same COCO RLE as the codec for masks starting inside and outside', () => {
    const h = 7;
    const w = 5;
    const masks = [0, 1, 2].map((seed) => {
      const m = new Uint8Array(h * w);
      for (let i = 0; i < m.length; i++) m[i] = (i * 7 + seed * 3) % 5 < 2 ? 1 : 0;
      return m;
    });
    masks[1]![0] = 1; // first pixel inside: counts start with an empty background run
    const { first, changes } = runStarts(masks, h, w);
    const rles = rlesFromChanges(first, changes, h, w);
    expect(rles).toHaveLength(3);
    rles.forEach((r, k) => {
      expect(r.counts).toBe(encodeCompressed(masks[k]!, h, w).counts);
      expect(Array.from(decode(r))).toEqual(Array.from(masks[k]!));
    });
  });

  it('handles empty and full masks (no changes at all)', () => {
    const h = 3;
    const w = 4;
    const masks = [new Uint8Array(h * w), new Uint8Array(h * w).fill(1)];
    const { first, changes } = runStarts(masks, h, w);
    expect(changes.length).toBe(0);
    const rles = rlesFromChanges(first, changes, h, w);
    expect(Array.from(decode(rles[0]!))).toEqual(Array.from(masks[0]!));
    expect(Array.from(decode(rles[1]!))).toEqual(Array.from(masks[1]!));
  });
  it('rejects changes that are not sorted by mask or name a mask that is not there', () => {
    const first = new Uint8Array(2);
    expect(() => rlesFromChanges(first, BigInt64Array.of(1n, 0n, 0n, 2n), 3, 4)).toThrow(
      /not sorted by mask/,
    );
    expect(() => rlesFromChanges(first, BigInt64Array.of(2n, 0n), 3, 4)).toThrow(/is for mask 2/);
  });
});

describe('promptPoints', () => {
  it('reproduces native-models/reference prompt_points (same LCG) bit for bit', () => {
    // Values printed by reference.prompt_points('00000', 540, 960, 2) and ('photo_dog', 534, 800, 1).
    expect(Array.from(promptPoints('00000', 540, 960, 2))).toEqual([
      942.0477808672003, 257.62986764032394, 64.82188741164282, 305.99179215170443,
    ]);
    expect(Array.from(promptPoints('photo_dog', 534, 800, 1))).toEqual([
      361.64451451133937, 47.290447916369885,
    ]);
  });
});
