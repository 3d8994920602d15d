// Reading what the store needs from an image file without decoding it: size as displayed, EXIF
// orientation (sharp reads only the header), and a streamed sha256 of the content.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import sharp from 'sharp';

/** Extensions a folder import picks up (case-insensitive). */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'bmp'] as const;

/** Header facts of an image file. */
export interface ImageHeader {
  /** Size as displayed, after the EXIF orientation. */
  width: number;
  height: number;
  /** EXIF orientation 1-8 (1 when absent). */
  orientation: number;
  format: string;
}

/** sha256 (hex) of a file, streamed so large files never sit in memory. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// libvips (as sharp ships it) has no BMP loader, so BMP sizes come from the file header:
// BITMAPFILEHEADER (14 bytes) then a DIB header whose first field is its own size.
async function readBmpHeader(file: string): Promise<ImageHeader> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(26);
    const { bytesRead } = await fh.read(buf, 0, 26, 0);
    if (bytesRead < 26 || buf.toString('latin1', 0, 2) !== 'BM')
      throw new Error('not a BMP file (no "BM" header)');
    const dibSize = buf.readUInt32LE(14);
    let width: number;
    let height: number;
    if (dibSize === 12) {
      // OS/2 BITMAPCOREHEADER: 16-bit unsigned sizes.
      width = buf.readUInt16LE(18);
      height = buf.readUInt16LE(20);
    } else if (dibSize >= 40) {
      width = buf.readInt32LE(18);
      // Negative height means rows are stored top-down; the image is |height| tall either way.
      height = Math.abs(buf.readInt32LE(22));
    } else {
      throw new Error(`unsupported BMP header size ${dibSize}`);
    }
    if (!(width > 0 && height > 0)) throw new Error(`invalid BMP size ${width}×${height}`);
    return { width, height, orientation: 1, format: 'bmp' };
  } finally {
    await fh.close();
  }
}

/** Reads size and orientation from the header; throws with a readable reason for unreadable files. */
export async function readImageHeader(file: string): Promise<ImageHeader> {
  if (/\.bmp$/i.test(file)) return readBmpHeader(file);
  const meta = await sharp(file).metadata();
  if (!meta.width || !meta.height) throw new Error('no image size in the header');
  const orientation =
    meta.orientation && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
  // Orientations 5-8 rotate by 90°: the displayed image is the stored one transposed.
  const swap = orientation >= 5;
  return {
    width: swap ? meta.height : meta.width,
    height: swap ? meta.width : meta.height,
    orientation,
    format: meta.format ?? 'unknown',
  };
}
