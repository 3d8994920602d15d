// Helpers for tests and benchmarks: the shapes fixture's ground truth, interior points, IoU; environment
// settings for one call (withEnv).
import path from 'node:path';
import sharp from 'sharp';

export const SHAPES_SCENES = ['00', '01', '02', '03', '04', '05', '06', '07'].map((n) => `shapes_${n}`);

export interface GroundTruth {
  width: number;
  height: number;
  /** Instance id per pixel, row-major (0 = background). */
  ids: Uint16Array;
  /** Instance ids present, ascending. */
  instances: number[];
}

/** Reads a 16-bit instance-id PNG (`shapes_NN.ids.png`). */
export async function loadGroundTruth(file: string): Promise<GroundTruth> {
  const { data, info } = await sharp(file)
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`${file}: expected one channel, got ${info.channels}`);
  const ids = new Uint16Array(info.width * info.height);
  for (let i = 0; i < ids.length; i++) ids[i] = data.readUInt16LE(i * 2);
  const present = new Set<number>();
  for (const v of ids) if (v) present.add(v);
  return { width: info.width, height: info.height, ids, instances: [...present].sort((a, b) => a - b) };
}

export function scenePaths(dir: string, scene: string): { image: string; ids: string } {
  return { image: path.join(dir, `${scene}.jpg`), ids: path.join(dir, `${scene}.ids.png`) };
}

export function instanceMask(gt: GroundTruth, id: number): Uint8Array {
  const m = new Uint8Array(gt.ids.length);
  for (let i = 0; i < m.length; i++) m[i] = gt.ids[i] === id ? 1 : 0;
  return m;
}

const INF = 1e20;

/** 1-D squared distance transform of sampled function f (Felzenszwalb & Huttenlocher). */
function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -INF;
  z[1] = INF;
  for (let q = 1; q < n; q++) {
    let s = (f[q]! + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
    while (s <= z[k]!) {
      k--;
      s = (f[q]! + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    d[q] = (q - v[k]!) * (q - v[k]!) + f[v[k]!]!;
  }
}

/**
 * Exact Euclidean distance (squared) from each inside pixel to the nearest outside pixel; the image border
 * counts as outside. Two separable passes (columns, then rows).
 */
export function squaredDistanceTransform(mask: Uint8Array, width: number, height: number): Float64Array {
  const W = width + 2;
  const H = height + 2; // one pixel of "outside" all round
  const g = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inside = x > 0 && y > 0 && x <= width && y <= height && mask[(y - 1) * width + (x - 1)] === 1;
      g[y * W + x] = inside ? INF : 0;
    }
  }
  const n = Math.max(W, H);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) f[y] = g[y * W + x]!;
    edt1d(f, H, d, v, z);
    for (let y = 0; y < H; y++) g[y * W + x] = d[y]!;
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) f[x] = g[y * W + x]!;
    edt1d(f, W, d, v, z);
    for (let x = 0; x < W; x++) g[y * W + x] = d[x]!;
  }
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) out[y * width + x] = g[(y + 1) * W + x + 1]!;
  return out;
}

/** The most interior pixel of a mask (max of its distance transform; first in row order on ties). */
export function interiorPoint(mask: Uint8Array, width: number, height: number): { x: number; y: number } {
  const dt = squaredDistanceTransform(mask, width, height);
  let best = -1;
  let at = 0;
  for (let i = 0; i < dt.length; i++) {
    if (mask[i] && dt[i]! > best) {
      best = dt[i]!;
      at = i;
    }
  }
  if (best < 0) throw new Error('interiorPoint of an empty mask');
  return { x: at % width, y: Math.floor(at / width) };
}

/** Tight [x0, y0, x1, y1] box of a mask, in pixel-edge coordinates (x1 = last column + 1). */
export function maskBox(mask: Uint8Array, width: number, height: number): [number, number, number, number] {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return [x0, y0, x1 + 1, y1 + 1];
}

/** IoU of two row-major binary masks of equal size. */
export function maskIou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const p = a[i]! !== 0;
    const q = b[i]! !== 0;
    if (p && q) inter++;
    if (p || q) union++;
  }
  return union === 0 ? 1 : inter / union;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs `f` with the given environment variables set (undefined: left as they are), then restores them. An
 * engine's worker copies the environment when it starts, so a setting made here holds for the engines `f`
 * creates and for code `f` runs in this thread, and for nothing after.
 */
export async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const saved = Object.entries(vars)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const old = process.env[k];
      process.env[k] = v;
      return [k, old] as const;
    });
  try {
    return await f();
  } finally {
    for (const [k, old] of saved) {
      if (old === undefined) delete process.env[k];
      else process.env[k] = old;
    }
  }
}
