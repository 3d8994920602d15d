// Image decoding for the encoder: any format sharp reads plus uncompressed BMP; EXIF orientation applied;
// 8/16-bit, grey, RGBA and CMYK all end as 8-bit sRGB RGB at SAM's resized size. Runs inside the worker.
import { readFile, stat } from 'node:fs/promises';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { decodeBmp, isBmp, readBmpHeader } from './bmp.js';
import { envChoice, ImageError } from './errors.js';
import { loadJpegDecoder, type JpegDecoder } from './ortx.js';
import { geometryFor, type ImageGeometry } from './preprocess.js';

/**
 * Decompression-bomb guard: headers claiming more pixels than this are refused before any pixel is decoded.
 * 100 MP is ~10× a phone photo; a 40000×40000 PNG (1.6 GP, 4.8 GB as RGB) is refused in microseconds.
 */
export const MAX_IMAGE_PIXELS = 100_000_000;

export interface DecodedImage {
  geometry: ImageGeometry;
  /** EXIF orientation found in the file (1..8; 1 when absent). */
  orientation: number;
  /** The source format as detected from the bytes ("jpeg", "png", "webp", "tiff", "bmp", …). */
  format: string;
  /** Interleaved 8-bit RGB, rgbWidth × rgbHeight (the resized size unless upscaling was left to the GPU). */
  rgb: Uint8Array;
  rgbWidth: number;
  rgbHeight: number;
}

export interface DecodeOptions {
  maxPixels?: number;
  /**
   * Leave upscaling to the caller (the fast path's preprocessing graph resizes on the GPU): an image smaller
   * than the input frame comes back at its own size. Downscaling always happens here, where sharp shrinks
   * JPEGs while decoding and filters properly.
   */
  deferUpscale?: boolean;
}

/** Reads an image file, mapping file-system failures to ImageError codes. */
export async function readImageFile(file: string): Promise<Buffer> {
  let st;
  try {
    st = await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new ImageError('not_found', `image not found: ${file}`, { file });
    throw new ImageError('bad_input', `cannot read ${file}: ${(err as Error).message}`, { file });
  }
  if (!st.isFile()) throw new ImageError('not_a_file', `not a file: ${file}`, { file });
  if (st.size === 0) throw new ImageError('empty', `image file is empty (0 bytes): ${file}`, { file });
  return readFile(file);
}

function guardPixels(width: number, height: number, maxPixels: number): void {
  if (!(width > 0 && height > 0))
    throw new ImageError('corrupt', `image header gives an invalid size ${width}×${height}`);
  if (width * height > maxPixels) {
    throw new ImageError(
      'too_large',
      `image is ${width}×${height} (${((width * height) / 1e6).toFixed(0)} MP), over the ${maxPixels / 1e6} MP limit`,
      { width, height, maxPixels },
    );
  }
}

function sharpError(err: unknown): ImageError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/unsupported image format|bad seek|Input buffer has corrupt header/i.test(msg)) {
    return new ImageError('unsupported_format', `not a supported image: ${msg}`);
  }
  if (/pixel limit/i.test(msg)) return new ImageError('too_large', msg);
  return new ImageError('corrupt', `cannot decode image: ${msg}`);
}

/**
 * Decodes `bytes` to RGB at SAM's resized size (bilinear), with EXIF orientation applied, refusing images
 * whose header claims more than `maxPixels`. Throws ImageError: empty, unsupported_format, corrupt, too_large.
 */
export async function decodeForSam(
  bytes: Uint8Array,
  inputSize: number,
  opts: DecodeOptions = {},
): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  if (bytes.length === 0) throw new ImageError('empty', 'image is empty (0 bytes)');
  if (isBmp(bytes)) {
    const h = readBmpHeader(bytes);
    guardPixels(h.width, h.height, maxPixels);
    const bmp = decodeBmp(bytes);
    const geometry = geometryFor(bmp.width, bmp.height, inputSize);
    const [rgbWidth, rgbHeight] = targetSize(geometry, opts);
    if (rgbWidth === bmp.width && rgbHeight === bmp.height) {
      return { geometry, orientation: 1, format: 'bmp', rgb: bmp.rgb, rgbWidth, rgbHeight };
    }
    const rgb = await resizeRgb(
      sharp(bmp.rgb, { raw: { width: bmp.width, height: bmp.height, channels: 3 } }),
      rgbWidth,
      rgbHeight,
    );
    return { geometry, orientation: 1, format: 'bmp', rgb, rgbWidth, rgbHeight };
  }
  // An image whose header says it needs no resizing here (the usual case on the fast path: frames up to the
  // encoder's size) is decoded while sharp reads its metadata, instead of after: the read is a trip through
  // libuv's pool of its own (~0.5 ms of a 960×540 frame's 5). The pipeline guards its own pixel count. A JPEG
  // goes to libjpeg-turbo itself where it is installed (same pixels, 2-5 ms less: docs/gpu.md, after run 20), and
  // to sharp below when the metadata says it needed more than a plain decode or libjpeg-turbo declined it.
  const dims = deferredDims(bytes);
  const small = opts.deferUpscale && dims && Math.max(dims.width, dims.height) <= inputSize;
  const turbo = small && isJpeg(bytes) ? jpegDecoder() : null;
  const early = !small
    ? null
    : turbo
      ? turbo.decode(bytes, maxPixels).then(
          (r) => ({ ok: true as const, rgb: r.data, width: r.width, height: r.height, plain: true }),
          () => null,
        )
      : rawRgb(decodePipeline(bytes, maxPixels)).then(
          (r) => ({ ok: true as const, ...r, plain: false }),
          (err: unknown) => ({ ok: false as const, err }),
        );
  let meta: Metadata;
  try {
    // Header only: no pixel is decoded here, so a bomb is refused before it can allocate.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    await early;
    throw sharpError(err);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  guardPixels(w, h, maxPixels);
  const orientation =
    meta.orientation && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
  const swap = orientation >= 5;
  const geometry = geometryFor(swap ? h : w, swap ? w : h, inputSize);
  const [rgbWidth, rgbHeight] = targetSize(geometry, opts);
  const format = meta.format ?? 'unknown';
  const done = early && (await early);
  if (done && !done.ok) throw done.err instanceof ImageError ? done.err : sharpError(done.err);
  // Sizes that disagree with the header the guess came from: decoded again below, the usual way. So is a
  // plain decode of an image sharp would have rotated or colour-managed.
  const plainFits =
    orientation === 1 && !meta.icc && !meta.hasProfile && (meta.space === 'srgb' || meta.space === 'b-w');
  if (done && (!done.plain || plainFits) && done.width === rgbWidth && done.height === rgbHeight) {
    return { geometry, orientation, format, rgb: done.rgb, rgbWidth, rgbHeight };
  }
  let rgb: Uint8Array;
  try {
    rgb = await resizeRgb(decodePipeline(bytes, maxPixels), rgbWidth, rgbHeight);
  } catch (err) {
    throw err instanceof ImageError ? err : sharpError(err);
  }
  return { geometry, orientation, format, rgb, rgbWidth, rgbHeight };
}

function isJpeg(b: Uint8Array): boolean {
  return b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/**
 * libjpeg-turbo's decoder for the early decode, or null: MASKROOM_JPEG=sharp (for comparisons), or none
 * installed (jpegDecodeVia() says why).
 */
function jpegDecoder(): JpegDecoder | null {
  return jpegVia() === 'turbo' ? loadJpegDecoder().decoder : null;
}

/** MASKROOM_JPEG: `turbo` (libjpeg-turbo where installed, the default) or `sharp`. */
function jpegVia(): 'turbo' | 'sharp' {
  return envChoice('MASKROOM_JPEG', ['turbo', 'sharp'], 'turbo');
}

/** Why JPEG frames on the fast path are not decoded by libjpeg-turbo; null when they are. */
export function turboJpegReason(): string | null {
  return jpegVia() === 'sharp' ? 'MASKROOM_JPEG=sharp' : loadJpegDecoder().reason;
}

/** Which decoder a JPEG frame that needs no downscaling goes through on the fast path, in words. */
export function jpegDecodeVia(): string {
  const reason = turboJpegReason();
  return reason === null ? `libjpeg-turbo (${loadJpegDecoder().decoder!.libraryPath})` : `sharp (${reason})`;
}

/** sharp's decode of `bytes` to 8-bit sRGB RGB in displayed orientation (no resize yet). */
function decodePipeline(bytes: Uint8Array, maxPixels: number): Sharp {
  return sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
    .rotate() // EXIF orientation → displayed orientation
    .removeAlpha()
    .toColourspace('srgb');
}

/**
 * Width and height as stored, read from a JPEG's frame header or a PNG's IHDR without sharp (microseconds);
 * null for other formats or a header this scan does not find. Only a guess at whether the image needs
 * resizing: decodeForSam checks what sharp decoded against sharp's own metadata.
 */
export function deferredDims(b: Uint8Array): { width: number; height: number } | null {
  const u16 = (i: number) => (b[i]! << 8) | b[i + 1]!;
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { width: v.getUint32(16), height: v.getUint32(20) };
  }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { width: u16(i + 7), height: u16(i + 5) };
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image, or scan data before any frame header
    i += 2 + u16(i + 2);
  }
  return null;
}

/** The size to decode to: the resized size, or the original one when upscaling is deferred to the GPU. */
function targetSize(g: ImageGeometry, opts: DecodeOptions): [number, number] {
  const upscaling = g.resizedWidth >= g.width && g.resizedHeight >= g.height;
  return opts.deferUpscale && upscaling ? [g.width, g.height] : [g.resizedWidth, g.resizedHeight];
}

async function resizeRgb(pipeline: Sharp, width: number, height: number): Promise<Uint8Array> {
  const r = await rawRgb(pipeline.resize({ width, height, fit: 'fill', kernel: 'linear' }));
  if (r.width !== width || r.height !== height) {
    throw new ImageError('corrupt', `decoder produced ${r.width}×${r.height}, expected ${width}×${height}`);
  }
  return r.rgb;
}

/** The pipeline's pixels as interleaved 8-bit RGB, with their size. */
async function rawRgb(pipeline: Sharp): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  if (info.channels === 3) return { rgb: data, width, height };
  // Grey sources can come out with one channel despite toColourspace; expand rather than fail.
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const c = info.channels;
  for (let i = 0; i < n; i++) {
    const v = data[i * c]!;
    out[i * 3] = v;
    out[i * 3 + 1] = v;
    out[i * 3 + 2] = v;
  }
  return { rgb: out, width, height };
}
