// Choosing the images of a job: all, a glob on the relative path, or explicit ids; never missing files.
import picomatch from 'picomatch';
import type { ImageRecord, Project } from '../store/index.js';
import { JobError, type ImageFilter } from './types.js';

const PAGE = 1000;

/** Images matching the filter, in id order (the order jobs process them in, so resumes are stable). */
export function selectImages(project: Project, filter: ImageFilter): ImageRecord[] {
  let match: ((p: string) => boolean) | null = null;
  if (filter.glob !== undefined) {
    if (typeof filter.glob !== 'string' || filter.glob.trim() === '')
      throw new JobError('JOB_BAD_PARAMS', 'the image glob is empty');
    match = picomatch(filter.glob, { dot: true });
  }
  let ids: Set<number> | null = null;
  if (filter.imageIds !== undefined) {
    if (!Array.isArray(filter.imageIds) || !filter.imageIds.every((i) => Number.isInteger(i) && i > 0)) {
      throw new JobError('JOB_BAD_PARAMS', 'imageIds must be positive integers');
    }
    ids = new Set(filter.imageIds);
  }
  const out: ImageRecord[] = [];
  let afterId = -1;
  for (;;) {
    const page = project.images.listImages({ missing: false, afterId, limit: PAGE });
    for (const img of page) {
      if (ids && !ids.has(img.id)) continue;
      if (match && !match(img.path)) continue;
      out.push(img);
    }
    if (page.length < PAGE) break;
    afterId = page[page.length - 1]!.id;
  }
  return out;
}
