// Helpers for the RLE tests only (not exported from index.ts): masks packed as in the pycocotools fixtures,
// and a small seeded random generator so failures can be replayed.

/** base64(numpy.packbits(row-major 0/1 mask)) → row-major 0/1 mask. */
export function unpackBits(bits: string, height: number, width: number): Uint8Array {
  const bytes = base64ToBytes(bits);
  const out = new Uint8Array(height * width);
  for (let i = 0; i < out.length; i++) out[i] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
  return out;
}

/** Row-major mask → base64(numpy.packbits(mask)), what the Python oracle reads. */
export function packBits(mask: Uint8Array): string {
  const bytes = new Uint8Array(Math.ceil(mask.length / 8));
  for (let i = 0; i < mask.length; i++) if (mask[i]) bytes[i >> 3]! |= 0x80 >> (i & 7);
  return bytesToBase64(bytes);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64ToBytes(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let p = 0;
  for (const ch of clean) {
    acc = (acc << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[p++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    s += i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=';
    s += i + 2 < bytes.length ? B64[n & 63]! : '=';
  }
  return s;
}

/** mulberry32: tiny, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random 0/1 mask with the given density. */
export function randomMask(rand: () => number, height: number, width: number, density: number): Uint8Array {
  const m = new Uint8Array(height * width);
  for (let i = 0; i < m.length; i++) m[i] = rand() < density ? 1 : 0;
  return m;
}

/** A few filled ellipses, some of them rings: masks with long runs, holes and several parts. */
export function blobMask(rand: () => number, height: number, width: number, blobs = 3): Uint8Array {
  const m = new Uint8Array(height * width);
  for (let b = 0; b < blobs; b++) {
    const cy = rand() * height;
    const cx = rand() * width;
    const ry = 2 + (rand() * height) / 3;
    const rx = 2 + (rand() * width) / 3;
    const hole = rand() < 0.4 ? 0.3 + rand() * 0.4 : 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const d = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2;
        if (d <= 1 && d >= hole * hole) m[y * width + x] = 1;
      }
    }
  }
  return m;
}

/** Index of the first differing byte, -1 when equal: far faster than toEqual on megapixel masks. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
