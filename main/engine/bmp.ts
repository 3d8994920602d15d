// sharp (libvips) has no BMP decoder, so uncompressed 24/32-bit BMPs are parsed here. Anything else
// (palettes, RLE, 16-bit) is refused with a typed error rather than guessed at.
import { ImageError } from './errors.js';

export interface BmpHeader {
  width: number;
  height: number;
  /** Rows stored top to bottom (negative height in the file). */
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  pixelOffset: number;
}

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/** Reads the file and DIB headers without touching pixel data (cheap; used for the pixel-count guard). */
export function readBmpHeader(bytes: Uint8Array): BmpHeader {
  if (bytes.length < 54) throw new ImageError('corrupt', `BMP file too short (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = dv.getUint32(10, true);
  const dibSize = dv.getUint32(14, true);
  if (dibSize < 40)
    throw new ImageError('unsupported_format', `BMP with a ${dibSize}-byte (OS/2) header is not supported`);
  const width = dv.getInt32(18, true);
  const rawHeight = dv.getInt32(22, true);
  const bitsPerPixel = dv.getUint16(28, true);
  const compression = dv.getUint32(30, true);
  if (width <= 0 || rawHeight === 0)
    throw new ImageError('corrupt', `BMP has invalid size ${width}×${rawHeight}`);
  return {
    width,
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bitsPerPixel,
    compression,
    pixelOffset,
  };
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

/** Channel position of a 32-bit BITFIELDS mask (only byte-aligned masks, as every real encoder writes). */
function maskShift(mask: number): number {
  for (const s of [0, 8, 16, 24]) if (mask >>> 0 === (0xff << s) >>> 0) return s;
  throw new ImageError(
    'unsupported_format',
    `BMP channel mask 0x${(mask >>> 0).toString(16)} is not supported`,
  );
}

/** Decodes an uncompressed 24- or 32-bit BMP to interleaved 8-bit RGB, top row first. */
export function decodeBmp(bytes: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const h = readBmpHeader(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let shifts = [16, 8, 0]; // BI_RGB stores B,G,R(,X) little-endian: R is bits 16..23
  if (h.bitsPerPixel === 24 && h.compression === BI_RGB) {
    // plain BGR
  } else if (h.bitsPerPixel === 32 && h.compression === BI_RGB) {
    // BGRX
  } else if (
    h.bitsPerPixel === 32 &&
    (h.compression === BI_BITFIELDS || h.compression === BI_ALPHABITFIELDS)
  ) {
    if (bytes.length < 66) throw new ImageError('corrupt', 'BMP BITFIELDS masks are missing');
    shifts = [dv.getUint32(54, true), dv.getUint32(58, true), dv.getUint32(62, true)].map(maskShift);
  } else {
    throw new ImageError(
      'unsupported_format',
      `BMP with ${h.bitsPerPixel} bits per pixel and compression ${h.compression} is not supported (only uncompressed 24/32-bit)`,
    );
  }
  const bpp = h.bitsPerPixel / 8;
  const stride = Math.floor((h.bitsPerPixel * h.width + 31) / 32) * 4;
  if (h.pixelOffset + stride * h.height > bytes.length) {
    throw new ImageError(
      'corrupt',
      `BMP pixel data is truncated (${bytes.length} bytes, needs ${h.pixelOffset + stride * h.height})`,
    );
  }
  const rgb = new Uint8Array(h.width * h.height * 3);
  const [rs, gs, bs] = shifts as [number, number, number];
  for (let y = 0; y < h.height; y++) {
    const srcRow = h.pixelOffset + (h.topDown ? y : h.height - 1 - y) * stride;
    let o = y * h.width * 3;
    for (let x = 0; x < h.width; x++) {
      const p = srcRow + x * bpp;
      if (bpp === 3) {
        rgb[o++] = bytes[p + 2]!;
        rgb[o++] = bytes[p + 1]!;
        rgb[o++] = bytes[p]!;
      } else {
        const v = dv.getUint32(p, true);
        rgb[o++] = (v >>> rs) & 0xff;
        rgb[o++] = (v >>> gs) & 0xff;
        rgb[o++] = (v >>> bs) & 0xff;
      }
    }
  }
  return { width: h.width, height: h.height, rgb };
}

/** Encodes interleaved 8-bit RGB as a bottom-up 24-bit BMP (used by tests and tools that need a BMP). */
export function encodeBmp24(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const stride = Math.floor((24 * width + 31) / 32) * 4;
  const out = new Uint8Array(54 + stride * height);
  const dv = new DataView(out.buffer);
  out[0] = 0x42;
  out[1] = 0x4d;
  dv.setUint32(2, out.length, true);
  dv.setUint32(10, 54, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, width, true);
  dv.setInt32(22, height, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, 24, true);
  dv.setUint32(34, stride * height, true);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      out[row + x * 3] = rgb[s + 2]!;
      out[row + x * 3 + 1] = rgb[s + 1]!;
      out[row + x * 3 + 2] = rgb[s]!;
    }
  }
  return out;
}
