import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBmp, encodeBmp24 } from './bmp.js';
import { decodeForSam, deferredDims, jpegDecodeVia } from './image.js';
import { fixtureModelDir, fixtureShapesDir, ImageError, SamEngine } from './index.js';
import { loadJpegDecoder } from './ortx.js';
import { withEnv } from './testing.js';

let tmp: string;
let reference: Uint8Array;
const scene = () => path.join(fixtureShapesDir(), 'shapes_01.jpg');

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i]! - b[i]!);
  return d / a.length;
}

function correlation(a: Uint8Array, b: Uint8Array): number {
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    sa += a[i]!;
    sb += b[i]!;
  }
  const ma = sa / a.length;
  const mb = sb / b.length;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < a.length; i++) {
    cov += (a[i]! - ma) * (b[i]! - mb);
    va += (a[i]! - ma) ** 2;
    vb += (b[i]! - mb) ** 2;
  }
  return cov / Math.sqrt(va * vb);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG whose header claims width × height but whose data holds only a few rows. */
function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1 + width * 3))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'maskroom-img-'));
  const png = await sharp(scene()).png().toBuffer();
  writeFileSync(path.join(tmp, 'ref.png'), png);
  reference = (await decodeForSam(png, 1024)).rgb;
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('decodeForSam formats', () => {
  it('resizes the longest side to 1024 with SAM rounding', async () => {
    const small = await sharp(scene()).resize(333, 517, { fit: 'fill' }).png().toBuffer();
    const d = await decodeForSam(small, 1024);
    expect(d.geometry).toEqual({
      width: 333,
      height: 517,
      resizedWidth: 660,
      resizedHeight: 1024,
      inputSize: 1024,
    });
    expect(d.rgb.length).toBe(660 * 1024 * 3);
  });

  it('decodes 16-bit PNG, RGBA PNG, lossless WebP, TIFF and 24/32-bit BMP to the same RGB', async () => {
    const src = sharp(scene());
    const raw = await sharp(scene()).raw().toBuffer({ resolveWithObject: true });
    const { width, height } = raw.info;
    const bmp24 = encodeBmp24(raw.data, width, height);
    // 32-bit BI_RGB BMP (BGRX), top-down rows, written by hand: sharp cannot write BMP.
    const bmp32 = new Uint8Array(54 + width * height * 4);
    bmp32.set(bmp24.subarray(0, 54));
    const dv = new DataView(bmp32.buffer);
    dv.setUint32(2, bmp32.length, true);
    dv.setInt32(22, -height, true);
    dv.setUint16(28, 32, true);
    for (let i = 0; i < width * height; i++) {
      bmp32[54 + i * 4] = raw.data[i * 3 + 2]!;
      bmp32[54 + i * 4 + 1] = raw.data[i * 3 + 1]!;
      bmp32[54 + i * 4 + 2] = raw.data[i * 3]!;
      bmp32[54 + i * 4 + 3] = 0x7f;
    }
    // Buffer.equals, not toEqual: vitest's deep equality walks 3 M elements one by one.
    expect(Buffer.from(decodeBmp(bmp32).rgb).equals(raw.data)).toBe(true);
    const variants: Record<string, Uint8Array> = {
      png16: await src.clone().toColourspace('rgb16').png({ compressionLevel: 1 }).toBuffer(),
      rgba: await src.clone().ensureAlpha(0.5).png({ compressionLevel: 1 }).toBuffer(),
      webp: await src.clone().webp({ lossless: true, effort: 0 }).toBuffer(),
      tiff: await src.clone().tiff({ compression: 'none' }).toBuffer(),
      bmp24,
      bmp32,
    };
    const meta16 = await sharp(variants.png16!).metadata();
    expect(meta16.depth).toBe('ushort');
    for (const [name, bytes] of Object.entries(variants)) {
      const d = await decodeForSam(bytes, 1024);
      expect([d.geometry.width, d.geometry.height], name).toEqual([953, 1024]);
      expect(meanAbsDiff(d.rgb, reference), name).toBeLessThan(1);
    }
  });

  it('converts grey and CMYK sources to RGB', async () => {
    const grey = await decodeForSam(await sharp(scene()).greyscale().png().toBuffer(), 1024);
    for (let i = 0; i < grey.rgb.length; i += 3 * 997) {
      expect(grey.rgb[i]).toBe(grey.rgb[i + 1]);
      expect(grey.rgb[i]).toBe(grey.rgb[i + 2]);
    }
    const cmykJpeg = await sharp(scene()).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(cmykJpeg).metadata()).space).toBe('cmyk');
    const cmyk = await decodeForSam(cmykJpeg, 1024);
    expect(cmyk.rgb.length).toBe(reference.length);
    // CMYK→RGB is not an identity round trip (ink model vs. sRGB), so compare structure, not values.
    expect(correlation(cmyk.rgb, reference)).toBeGreaterThan(0.9);
  });
});

describe('decodeForSam with upscaling left to the GPU (the fast path)', () => {
  const small = () => sharp(scene()).resize(600, 400, { fit: 'fill' });

  it('reads JPEG and PNG sizes from their headers, and nothing else', async () => {
    expect(deferredDims(await small().jpeg().toBuffer())).toEqual({ width: 600, height: 400 });
    expect(deferredDims(await small().jpeg({ progressive: true }).toBuffer())).toEqual({
      width: 600,
      height: 400,
    });
    // EXIF (APP1) before the frame header is stepped over; the stored size, not the displayed one.
    const rotated = await small().jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect(deferredDims(rotated)).toEqual({ width: 600, height: 400 });
    expect(deferredDims(await small().png().toBuffer())).toEqual({ width: 600, height: 400 });
    expect(deferredDims(await small().webp().toBuffer())).toBeNull();
    expect(deferredDims(new TextEncoder().encode('hello, I am not a JPEG'))).toBeNull();
    const jpeg = await small().jpeg().toBuffer();
    expect(deferredDims(jpeg.subarray(0, 20))).toBeNull();
  });

  it('gives sharp’s own decode, in displayed orientation, at the stored size', async () => {
    for (const orientation of [1, 6]) {
      const bytes = await small().jpeg().withMetadata({ orientation }).toBuffer();
      const want = await sharp(bytes).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const d = await decodeForSam(bytes, 1024, { deferUpscale: true });
      expect([d.rgbWidth, d.rgbHeight], `orientation ${orientation}`).toEqual([
        want.info.width,
        want.info.height,
      ]);
      expect([d.geometry.width, d.geometry.height]).toEqual(orientation === 6 ? [400, 600] : [600, 400]);
      expect(d.orientation).toBe(orientation);
      expect(Buffer.from(d.rgb).equals(want.data)).toBe(true);
    }
    // Larger than the encoder's frame: downscaled here, as without the fast path.
    const big = await sharp(scene()).resize(1500, 1000, { fit: 'fill' }).jpeg().toBuffer();
    const d = await decodeForSam(big, 1024, { deferUpscale: true });
    expect([d.rgbWidth, d.rgbHeight]).toEqual([1024, 683]);
    // A grey JPEG: three equal channels.
    const grey = await decodeForSam(await small().greyscale().jpeg().toBuffer(), 1024, {
      deferUpscale: true,
    });
    expect(grey.rgb.length).toBe(600 * 400 * 3);
    expect([grey.rgb[3000], grey.rgb[3001]]).toEqual([grey.rgb[3002], grey.rgb[3002]]);
  });

  it('a small JPEG cut short is corrupt, text is not an image', async () => {
    const jpeg = await small().jpeg().toBuffer();
    await expect(decodeForSam(jpeg.subarray(0, 3000), 1024, { deferUpscale: true })).rejects.toMatchObject({
      code: 'corrupt',
    });
    await expect(
      decodeForSam(new TextEncoder().encode('hello, I am not a JPEG'), 1024, { deferUpscale: true }),
    ).rejects.toMatchObject({ code: 'unsupported_format' });
  });
});

describe('decodeForSam: JPEG frames through libjpeg-turbo', () => {
  const { decoder, reason } = loadJpegDecoder();
  // CI installs libturbojpeg0 (.ci/run) and requires the addon: there this suite must run.
  const required = process.env.MASKROOM_REQUIRE_ORTX === '1';
  const test = decoder || required ? it : it.skipIf(true);
  if (!decoder && !required) console.warn(`libjpeg-turbo tests skipped: ${reason}`);

  /** The fast path's decode with MASKROOM_JPEG set to `via`; an error is returned, not thrown. */
  const decodeVia = (via: 'turbo' | 'sharp', bytes: Uint8Array) =>
    withEnv({ MASKROOM_JPEG: via }, () => decodeForSam(bytes, 1024, { deferUpscale: true })).catch(
      (err: unknown) => err as Error,
    );

  test('gives sharp’s pixels, byte for byte, for every kind of JPEG the engine meets', async () => {
    expect(decoder, reason ?? '').not.toBeNull();
    expect(jpegDecodeVia()).toMatch(/^libjpeg-turbo \(/);
    const repo = path.resolve(fixtureShapesDir(), '..', '..', '..');
    const files = [
      ...['00', '03', '07'].map((n) => path.join(fixtureShapesDir(), `shapes_${n}.jpg`)),
      ...['000000017627', '000000480985'].map((n) =>
        path.join(repo, 'main/export/fixtures/coco-val2017-sample/images', `${n}.jpg`),
      ),
    ];
    const small = () => sharp(scene()).resize(600, 400, { fit: 'fill' });
    const { data: cmykRaw, info } = await small().raw().toBuffer({ resolveWithObject: true });
    const cases: [string, Uint8Array][] = [
      ...files.map((f): [string, Uint8Array] => [path.basename(f), readFileSync(f)]),
      ['progressive', await small().jpeg({ progressive: true }).toBuffer()],
      ['4:4:4', await small().jpeg({ chromaSubsampling: '4:4:4', quality: 95 }).toBuffer()],
      ['grey', await small().greyscale().jpeg().toBuffer()],
      ['odd size', await sharp(scene()).resize(333, 211, { fit: 'fill' }).jpeg().toBuffer()],
      // Handed back to sharp, which rotates, colour-manages or converts them:
      ['orientation 6', await small().jpeg().withMetadata({ orientation: 6 }).toBuffer()],
      ['ICC profile', await small().jpeg().withIccProfile('p3').toBuffer()],
      [
        'CMYK',
        await sharp(cmykRaw, { raw: { width: info.width, height: info.height, channels: 3 } })
          .toColourspace('cmyk')
          .jpeg()
          .toBuffer(),
      ],
    ];
    for (const [name, bytes] of cases) {
      const a = await decodeVia('turbo', bytes);
      const b = await decodeVia('sharp', bytes);
      if (b instanceof Error) throw new Error(`${name}: ${b.message}`);
      expect(a instanceof Error ? a.message : null, name).toBeNull();
      const t = a as Exclude<typeof a, Error>;
      expect([t.rgbWidth, t.rgbHeight, t.orientation, t.format, t.geometry], name).toEqual([
        b.rgbWidth,
        b.rgbHeight,
        b.orientation,
        b.format,
        b.geometry,
      ]);
      expect(Buffer.from(t.rgb).equals(Buffer.from(b.rgb)), name).toBe(true);
    }
  });

  test('declines what it cannot decode cleanly, and sharp gives the verdict', async () => {
    const jpeg = await sharp(scene()).resize(600, 400, { fit: 'fill' }).jpeg().toBuffer();
    // Straight to the decoder: a cut-short JPEG is a warning in libjpeg-turbo, refused here.
    await expect(decoder!.decode(jpeg.subarray(0, 3000), 1e8)).rejects.toThrow(/libjpeg-turbo/);
    await expect(decoder!.decode(jpeg, 1000)).rejects.toThrow(/past maxPixels/);
    await expect(decoder!.decode(new Uint8Array([0xff, 0xd8, 0xff, 0, 1, 2]), 1e8)).rejects.toThrow(
      /libjpeg-turbo/,
    );
    // Through decodeForSam: the same typed error as sharp's path.
    const cut = await decodeVia('turbo', jpeg.subarray(0, 3000));
    expect(cut).toMatchObject({ code: 'corrupt' });
    expect(await decodeVia('sharp', jpeg.subarray(0, 3000))).toMatchObject({ code: 'corrupt' });
  });
});

describe('bad images give typed errors through the engine', () => {
  let engine: SamEngine;
  beforeAll(async () => {
    engine = await SamEngine.create({ modelDir: fixtureModelDir(), provider: 'cpu', cacheDir: false });
  });
  afterAll(async () => engine?.close());

  const cases: [string, () => string | Uint8Array, string][] = [
    ['a missing file', () => path.join(tmp, 'nope.jpg'), 'not_found'],
    [
      'a folder',
      () => (mkdirSync(path.join(tmp, 'dir.jpg'), { recursive: true }), path.join(tmp, 'dir.jpg')),
      'not_a_file',
    ],
    [
      'a 0-byte file',
      () => (writeFileSync(path.join(tmp, 'empty.jpg'), ''), path.join(tmp, 'empty.jpg')),
      'empty',
    ],
    ['0 bytes in memory', () => new Uint8Array(0), 'empty'],
    [
      'text named .jpg',
      () => (
        writeFileSync(path.join(tmp, 'text.jpg'), 'hello, I am not a JPEG\n'),
        path.join(tmp, 'text.jpg')
      ),
      'unsupported_format',
    ],
    ['a truncated JPEG', () => readFileSync(scene()).subarray(0, 20_000), 'corrupt'],
    ['a PNG header claiming 40000×40000', () => pngBomb(40_000, 40_000), 'too_large'],
    ['a BMP header claiming 20000×20000', () => encodeBmp24Header(20_000, 20_000), 'too_large'],
    ['an 8-bit palette BMP', () => bmpWithBits(8), 'unsupported_format'],
    ['a truncated BMP', () => encodeBmp24(new Uint8Array(30 * 20 * 3), 30, 20).subarray(0, 500), 'corrupt'],
  ];

  for (const [what, input, code] of cases) {
    it(`refuses ${what} with ImageError ${code}`, async () => {
      const t0 = performance.now();
      const err = await engine.embed(input()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ImageError);
      expect((err as ImageError).code).toBe(code);
      expect(performance.now() - t0).toBeLessThan(5_000);
      // The worker survived: a good image still works.
      expect((await engine.embed(scene())).height).toBe(1024);
    });
  }
});

function encodeBmp24Header(w: number, h: number): Uint8Array {
  const b = encodeBmp24(new Uint8Array(3), 1, 1);
  const dv = new DataView(b.buffer);
  dv.setInt32(18, w, true);
  dv.setInt32(22, h, true);
  return b;
}

function bmpWithBits(bits: number): Uint8Array {
  const b = encodeBmp24(new Uint8Array(4 * 4 * 3), 4, 4);
  new DataView(b.buffer).setUint16(28, bits, true);
  return b;
}
