// Embedding caches. Memory: an LRU bounded by bytes. Disk: one file per (model id, image content), keyed
// by the sha256 of the file's bytes, so renaming or re-importing an image never re-encodes it.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImageGeometry } from './preprocess.js';

/**
 * Default memory budget: 256 MiB = 64 SAM ViT embeddings (256×64×64 float32 = 4 MiB each). Enough to page
 * back and forth through a folder without touching disk; small next to a desktop's RAM.
 */
export const DEFAULT_MEMORY_CACHE_BYTES = 256 * 1024 * 1024;

/** Bump when the disk layout or the preprocessing changes: old files are then ignored, not misread. */
export const EMBEDDING_FORMAT_VERSION = 1;

const MAGIC = 0x4d52454d; // "MREM"

/** One image's encoder output plus what is needed to map prompts and masks to its pixels. */
export interface EmbeddingRecord {
  /** sha256 (hex) of the image file's bytes. */
  key: string;
  modelId: string;
  geometry: ImageGeometry;
  orientation: number;
  shape: number[];
  data: Float32Array;
  /** Extra encoder outputs fed to the decoder by name (SAM 2.1 high-res features); empty for SAM. */
  extras: EmbeddingExtra[];
  /**
   * Set while the host copy of an embedding the GPU keeps (the graph runtime) is still downloading, so that a
   * click can start on the device copy meanwhile: `data` and the extras' `data` are empty until it settles
   * (rejected: the download failed, and the record has left the memory cache). Read them via hostRecord().
   */
  hostReady?: Promise<void>;
}

/** The record once its host copy is there (at once for every record but one still downloading). */
export async function hostRecord(r: EmbeddingRecord): Promise<EmbeddingRecord> {
  if (r.hostReady) await r.hostReady;
  return r;
}

export interface EmbeddingExtra {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Elements of a tensor of this shape. */
export const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Bytes an embedding record holds (what the memory LRU counts). */
export function recordBytes(r: EmbeddingRecord): number {
  // From the shapes: a record whose host copy is still downloading counts what it will hold.
  return 4 * (count(r.shape) + r.extras.reduce((a, x) => a + count(x.shape), 0)) + 1024;
}

/** A least-recently-used map whose capacity is a number of bytes, not of entries. */
export class ByteLru<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private used = 0;

  constructor(
    readonly budgetBytes: number,
    private readonly sizeOf: (v: V) => number,
  ) {}

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    // Re-insert to mark as most recently used (Map iterates in insertion order).
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Inserts and evicts least recently used entries until within budget. A value larger than the budget is not kept. */
  set(key: string, value: V): void {
    const bytes = this.sizeOf(value);
    const old = this.map.get(key);
    if (old) {
      this.used -= old.bytes;
      this.map.delete(key);
    }
    if (bytes > this.budgetBytes) return;
    this.map.set(key, { value, bytes });
    this.used += bytes;
    for (const [k, e] of this.map) {
      if (this.used <= this.budgetBytes) break;
      this.map.delete(k);
      this.used -= e.bytes;
    }
  }

  /** Removes `key` when it still holds `value` (a newer entry under the same key stays). */
  deleteIf(key: string, value: V): void {
    const e = this.map.get(key);
    if (!e || e.value !== value) return;
    this.map.delete(key);
    this.used -= e.bytes;
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }

  keys(): string[] {
    return [...this.map.keys()];
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }
}

/** `$XDG_CACHE_HOME/maskroom/embeddings`, else `~/.cache/…` (Windows: `%LOCALAPPDATA%\maskroom\…`). */
export function defaultCacheDir(): string {
  const base =
    process.env.XDG_CACHE_HOME ||
    (process.platform === 'win32' && process.env.LOCALAPPDATA
      ? process.env.LOCALAPPDATA
      : path.join(os.homedir(), '.cache'));
  return path.join(base, 'maskroom', 'embeddings');
}

interface DiskHeader {
  modelId: string;
  key: string;
  geometry: ImageGeometry;
  orientation: number;
  shape: number[];
  extras?: { name: string; shape: number[] }[];
}

/** Embeddings on disk: `<dir>/<modelId>/v<format>/<key[0..2]>/<key>.emb`, written atomically (temp + rename). */
export class DiskEmbeddingCache {
  constructor(
    readonly dir: string,
    readonly modelId: string,
  ) {}

  fileFor(key: string): string {
    return path.join(this.dir, this.modelId, `v${EMBEDDING_FORMAT_VERSION}`, key.slice(0, 2), `${key}.emb`);
  }

  /** The record, or undefined when absent or unreadable (a damaged file is deleted and re-encoded later). */
  read(key: string): EmbeddingRecord | undefined {
    const file = this.fileFor(key);
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch {
      return undefined;
    }
    try {
      if (
        buf.length < 12 ||
        buf.readUInt32LE(0) !== MAGIC ||
        buf.readUInt32LE(4) !== EMBEDDING_FORMAT_VERSION
      ) {
        throw new Error('bad magic or version');
      }
      const headerLen = buf.readUInt32LE(8);
      const header = JSON.parse(buf.subarray(12, 12 + headerLen).toString('utf8')) as DiskHeader;
      const dataStart = align4(12 + headerLen);
      const specs = [{ name: '', shape: header.shape }, ...(header.extras ?? [])];
      const total = specs.reduce((a, x) => a + count(x.shape), 0);
      if (header.key !== key || header.modelId !== this.modelId || buf.length !== dataStart + total * 4) {
        throw new Error('header does not match');
      }
      // Copy into fresh, aligned buffers: the file buffer may come from a pool with an odd offset.
      let at = dataStart;
      const arrays = specs.map((x) => {
        const a = new Float32Array(count(x.shape));
        new Uint8Array(a.buffer).set(buf.subarray(at, at + a.byteLength));
        at += a.byteLength;
        return a;
      });
      return {
        modelId: header.modelId,
        key: header.key,
        geometry: header.geometry,
        orientation: header.orientation,
        shape: header.shape,
        data: arrays[0]!,
        extras: (header.extras ?? []).map((x, i) => ({ name: x.name, shape: x.shape, data: arrays[i + 1]! })),
      };
    } catch {
      rmSync(file, { force: true });
      return undefined;
    }
  }

  write(rec: EmbeddingRecord): void {
    const file = this.fileFor(rec.key);
    mkdirSync(path.dirname(file), { recursive: true });
    const header: DiskHeader = {
      modelId: rec.modelId,
      key: rec.key,
      geometry: rec.geometry,
      orientation: rec.orientation,
      shape: rec.shape,
      extras: rec.extras.map((x) => ({ name: x.name, shape: x.shape })),
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const dataStart = align4(12 + json.length);
    const arrays = [rec.data, ...rec.extras.map((x) => x.data)];
    const out = Buffer.alloc(dataStart + arrays.reduce((a, x) => a + x.byteLength, 0));
    out.writeUInt32LE(MAGIC, 0);
    out.writeUInt32LE(EMBEDDING_FORMAT_VERSION, 4);
    out.writeUInt32LE(json.length, 8);
    json.copy(out, 12);
    let at = dataStart;
    for (const a of arrays) {
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, at);
      at += a.byteLength;
    }
    // Readers never see a half-written file: rename is atomic within one file system.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, out);
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }
}

const align4 = (n: number): number => (n + 3) & ~3;
