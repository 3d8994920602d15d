// `images` service and the display bytes of an image (served by web mode and Electron's protocol).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { AppError, contracts, type ImageSummary, type ServiceImpl } from '../../common/contracts/index.js';
import type { ImageRecord, Project } from '../store/index.js';
import type { CallContext, DisplayImage } from './host.js';
import {
  imageCategoryIds,
  imageSummary,
  listImageSummaries,
  type ImageSummaryRow,
} from '../store/summaries.js';
import type { BackendState } from './state.js';

function toSummary(r: ImageSummaryRow): ImageSummary {
  return {
    id: r.id,
    relPath: r.path,
    fileName: r.path.split('/').pop() ?? r.path,
    width: r.width,
    height: r.height,
    status: r.status,
    annotationCount: r.accepted,
    proposedCount: r.proposed,
  };
}

/** The image row, or NOT_FOUND. */
export function requireImage(p: Project, imageId: number): ImageRecord {
  const img = p.images.getImage(imageId);
  if (!img) throw new AppError('NOT_FOUND', `no image ${imageId}`);
  return img;
}

/** Absolute real path of an image's file, confined to the allowed roots (a symlink cannot lead out). */
export function imageFile(s: BackendState, imageId: number): { file: string; image: ImageRecord } {
  const p = s.requireProject();
  const image = requireImage(p, imageId);
  const file = s.guard.confine(p.imagePath(image.path), { mustExist: 'file', what: `image ${imageId}` });
  return { file, image };
}

const PASS_THROUGH: Record<string, DisplayImage['mime']> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
};

/**
 * Bytes for display in the orientation masks use: files browsers decode and that need no rotation are
 * sent as they are; others (EXIF-rotated, TIFF, BMP) are re-encoded (PNG, or JPEG for JPEG sources).
 */
export async function displayImage(s: BackendState, imageId: number): Promise<DisplayImage> {
  const { file, image } = imageFile(s, imageId);
  const ext = path.extname(file).toLowerCase();
  const bytes = await readFile(file);
  const passMime = PASS_THROUGH[ext];
  if (passMime && image.orientation === 1) return { mime: passMime, bytes };
  if (ext === '.bmp') {
    const { decodeBmp } = await import('../engine/bmp.js');
    const { width, height, rgb } = decodeBmp(bytes);
    return {
      mime: 'image/png',
      bytes: await sharp(rgb, { raw: { width, height, channels: 3 } })
        .png()
        .toBuffer(),
    };
  }
  const pipeline = sharp(bytes).rotate();
  if (passMime === 'image/jpeg')
    return { mime: 'image/jpeg', bytes: await pipeline.jpeg({ quality: 92 }).toBuffer() };
  return { mime: 'image/png', bytes: await pipeline.png().toBuffer() };
}

export function imagesService(s: BackendState): ServiceImpl<typeof contracts.images, CallContext> {
  return {
    list({ status, categoryId, offset, limit }) {
      const p = s.requireProject();
      const { rows, total } = listImageSummaries(p.db, { status, categoryId, offset, limit });
      return { items: rows.map(toSummary), total };
    },
    get({ imageId }) {
      const p = s.requireProject();
      const row = imageSummary(p.db, imageId);
      if (!row) throw new AppError('NOT_FOUND', `no image ${imageId}`);
      return {
        ...toSummary(row),
        categoryIds: imageCategoryIds(p.db, imageId),
        embeddingCached: s.engine.keys.has(imageId),
      };
    },
    setStatus({ imageId, status }) {
      const p = s.requireProject();
      requireImage(p, imageId);
      p.edit(`mark image ${imageId} ${status}`, () => p.images.setImageStatus({ id: imageId, status }));
      s.bus.emit('images', 'changed', { imageIds: [imageId] });
      return toSummary(imageSummary(p.db, imageId)!);
    },
    url({ imageId }) {
      const p = s.requireProject();
      const img = requireImage(p, imageId);
      const url = s.opts.imageUrl ? s.opts.imageUrl(imageId) : `/api/images/${imageId}`;
      return { url, width: img.width, height: img.height };
    },
    async bytes({ imageId }) {
      const p = s.requireProject();
      const img = requireImage(p, imageId);
      const d = await displayImage(s, imageId);
      if (d.mime !== 'image/jpeg' && d.mime !== 'image/png') {
        const png = await sharp(d.bytes).png().toBuffer();
        return {
          mime: 'image/png' as const,
          base64: png.toString('base64'),
          width: img.width,
          height: img.height,
        };
      }
      return { mime: d.mime, base64: d.bytes.toString('base64'), width: img.width, height: img.height };
    },
  };
}
