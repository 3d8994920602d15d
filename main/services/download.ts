// Model downloads: resumable (HTTP Range on a `.part` file kept between attempts) and verified (sha256 of
// the whole file before it is renamed into place).
import { createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { AppError } from '../../common/contracts/index.js';
import { sha256File } from './models-store.js';

export interface DownloadOptions {
  sha256: string;
  signal?: AbortSignal;
  /** Bytes on disk so far and the total when the server said it. */
  onProgress?: (received: number, total: number | null) => void;
}

function totalFrom(res: Response, have: number): number | null {
  const range = res.headers.get('content-range');
  const m = range ? /\/(\d+)$/.exec(range) : null;
  if (m) return Number(m[1]);
  const len = res.headers.get('content-length');
  return len === null ? null : Number(len) + (res.status === 206 ? have : 0);
}

/**
 * Downloads `url` to `dest`. A previous partial download at `dest + '.part'` is resumed with a Range
 * request when the server honours it (206), restarted when it does not (200). On a hash mismatch the
 * partial file is deleted and CHECKSUM_MISMATCH thrown.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions): Promise<void> {
  const part = `${dest}.part`;
  if (existsSync(dest) && (await sha256File(dest)) === opts.sha256) return;
  let have = existsSync(part) ? statSync(part).size : 0;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: have > 0 ? { Range: `bytes=${have}-` } : {},
      signal: opts.signal,
      redirect: 'follow',
    });
  } catch (e) {
    if (opts.signal?.aborted) throw new AppError('CANCELLED', 'download cancelled');
    throw new AppError('IO_ERROR', `cannot reach ${url}: ${(e as Error).message}`);
  }
  if (res.status === 416 && have > 0) {
    // The part file already holds everything the server has.
    await res.body?.cancel();
  } else {
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new AppError('IO_ERROR', `${url}: HTTP ${res.status}`);
    }
    if (res.status === 206) {
      const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
      if (!start || Number(start[1]) !== have) {
        await res.body?.cancel();
        throw new AppError('IO_ERROR', `${url}: the server resumed at the wrong offset`);
      }
    } else {
      have = 0; // no Range support: start over
    }
    const total = totalFrom(res, have);
    if (!res.body) throw new AppError('IO_ERROR', `${url}: empty response`);
    let received = have;
    opts.onProgress?.(received, total);
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        opts.onProgress?.(received, total);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
        counter,
        createWriteStream(part, { flags: res.status === 206 ? 'a' : 'w' }),
        { signal: opts.signal },
      );
    } catch (e) {
      // The part file stays: the next attempt resumes from it.
      if (opts.signal?.aborted) throw new AppError('CANCELLED', 'download cancelled');
      throw new AppError('IO_ERROR', `${url}: ${(e as Error).message}`);
    }
  }
  const got = await sha256File(part);
  if (got !== opts.sha256) {
    rmSync(part, { force: true });
    throw new AppError('CHECKSUM_MISMATCH', `${url}: sha256 is ${got}, expected ${opts.sha256}`);
  }
  renameSync(part, dest);
}
