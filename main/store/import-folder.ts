// Importing a folder of images into a project: recursive, header-only reads, content hashes,
// deduplication, and re-scans that detect moved and missing files instead of dropping them.
import { existsSync, realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { StoreError } from './errors.js';
import { hashFile, IMAGE_EXTENSIONS, readImageHeader, type ImageHeader } from './image-files.js';
import { getImageByPath, getImageBySha256, insertImage, listImagePaths, updateImageFile } from './images.js';
import type { Project } from './project.js';

/** What an import (or re-scan) found. Paths are relative to the project root. */
export interface ImportReport {
  /** Image files found in the folder. */
  scanned: number;
  added: string[];
  /** Already in the project with the same size and modification time (not re-hashed). */
  unchanged: number;
  /** Known path whose content changed, or that was missing and is back. */
  updated: string[];
  /** Files found under a new path, re-linked by content hash. */
  moved: { from: string; to: string }[];
  /** Images of this folder whose file is gone (now or before); kept and flagged `missing`, with their annotations. */
  missing: string[];
  /** Files whose content is already in the project under another path; skipped. */
  duplicates: { path: string; sameAs: string }[];
  /** Files that could not be read, with the reason; skipped. */
  unreadable: { path: string; reason: string }[];
}

/** Progress of an import: `done` of `total` files looked at. */
export interface ImportProgress {
  done: number;
  total: number;
  path: string;
}

export interface ImportOptions {
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
  /** Files read concurrently and written per transaction. */
  batchSize?: number;
  now?: number;
}

interface Scanned {
  rel: string;
  size: number;
  mtimeMs: number;
  read?: { sha256: string; header: ImageHeader };
  error?: string;
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

const toPosix = (p: string) => p.split(path.sep).join('/');

/**
 * Imports every image under `folder` (which must be inside the project root). Idempotent: running it
 * again adds nothing new, re-links moved files by hash and flags files that disappeared as missing.
 * Each batch is one transaction, so an interrupted import keeps what it committed and resumes cheaply.
 */
export async function importFolder(
  project: Project,
  folder: string,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  const db = project.db;
  const absFolder = path.resolve(folder);
  if (!existsSync(absFolder)) throw new StoreError('NOT_FOUND', `folder ${absFolder} does not exist`);
  const realRoot = realpathSync(project.root);
  const realFolder = realpathSync(absFolder);
  if (!isInside(realRoot, realFolder)) {
    throw new StoreError(
      'PATH_OUTSIDE_ROOT',
      `${absFolder} is outside the project root ${project.root}; images are stored relative to the root`,
    );
  }
  const folderRel = toPosix(path.relative(realRoot, realFolder));
  const files = (
    await glob(`**/*.{${IMAGE_EXTENSIONS.join(',')}}`, {
      cwd: realFolder,
      caseSensitiveMatch: false,
      onlyFiles: true,
      // A link could lead out of the root, where relative paths stop meaning anything.
      followSymbolicLinks: false,
      expandDirectories: false,
    })
  ).sort();

  const report: ImportReport = {
    scanned: files.length,
    added: [],
    unchanged: 0,
    updated: [],
    moved: [],
    missing: [],
    duplicates: [],
    unreadable: [],
  };
  const seen = new Set<string>();
  const now = opts.now ?? Date.now();
  const batchSize = opts.batchSize ?? 16;
  let done = 0;

  for (let i = 0; i < files.length; i += batchSize) {
    opts.signal?.throwIfAborted();
    const batch = await Promise.all(
      files.slice(i, i + batchSize).map(async (f): Promise<Scanned> => {
        const rel = folderRel ? `${folderRel}/${f}` : f;
        const abs = path.join(realFolder, ...f.split('/'));
        try {
          const st = await stat(abs);
          const known = getImageByPath(db, rel);
          if (
            known &&
            !known.missing &&
            known.fileSize === st.size &&
            known.mtimeMs === Math.trunc(st.mtimeMs)
          ) {
            return { rel, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
          }
          const [sha256, header] = await Promise.all([hashFile(abs), readImageHeader(abs)]);
          return { rel, size: st.size, mtimeMs: Math.trunc(st.mtimeMs), read: { sha256, header } };
        } catch (err) {
          return { rel, size: 0, mtimeMs: 0, error: (err as Error).message.split('\n')[0] ?? String(err) };
        }
      }),
    );
    project.transaction(() => {
      for (const s of batch) {
        seen.add(s.rel);
        if (s.error !== undefined) {
          report.unreadable.push({ path: s.rel, reason: s.error });
          continue;
        }
        if (!s.read) {
          report.unchanged++;
          continue;
        }
        const { sha256, header } = s.read;
        const file = { fileSize: s.size, mtimeMs: s.mtimeMs, width: header.width, height: header.height };
        const known = getImageByPath(db, s.rel);
        const sameContent = getImageBySha256(db, sha256);
        if (known) {
          if (sameContent && sameContent.id !== known.id) {
            report.duplicates.push({ path: s.rel, sameAs: sameContent.path });
            continue;
          }
          updateImageFile(db, {
            id: known.id,
            sha256,
            orientation: header.orientation,
            missing: false,
            ...file,
          });
          if (known.missing || known.sha256 !== sha256) report.updated.push(s.rel);
          else report.unchanged++;
          continue;
        }
        if (sameContent) {
          // Same bytes elsewhere: a move when the old file is gone, otherwise a duplicate copy.
          if (sameContent.missing || !existsSync(project.imagePath(sameContent.path))) {
            updateImageFile(db, {
              id: sameContent.id,
              path: s.rel,
              orientation: header.orientation,
              missing: false,
              ...file,
            });
            report.moved.push({ from: sameContent.path, to: s.rel });
          } else {
            report.duplicates.push({ path: s.rel, sameAs: sameContent.path });
          }
          continue;
        }
        insertImage(db, { path: s.rel, sha256, orientation: header.orientation, addedAt: now, ...file });
        report.added.push(s.rel);
      }
    });
    done += batch.length;
    opts.onProgress?.({ done, total: files.length, path: batch.at(-1)!.rel });
  }

  // Images of this folder not seen in the scan: flag the ones whose file is really gone.
  const movedFrom = new Set(report.moved.map((m) => m.from));
  project.transaction(() => {
    for (const img of listImagePaths(db)) {
      if (seen.has(img.path) || movedFrom.has(img.path)) continue;
      if (folderRel && !img.path.startsWith(`${folderRel}/`)) continue;
      if (img.missing) {
        report.missing.push(img.path);
        continue;
      }
      if (existsSync(project.imagePath(img.path))) continue;
      updateImageFile(db, { id: img.id, missing: true });
      report.missing.push(img.path);
    }
  });
  return report;
}
