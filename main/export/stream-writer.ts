// A text file written in chunks with backpressure, to a temporary name renamed into place at the end,
// so readers never see half a file and a failed export leaves the old file as it was.
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';

const CHUNK = 256 * 1024;

/** Buffered writer to `<file>.tmp-<pid>`; `commit()` fsyncs and renames it to `file`. */
export class AtomicTextWriter {
  readonly tmp: string;
  private readonly out: WriteStream;
  private buf: string[] = [];
  private bufLen = 0;
  private failed: Error | null = null;
  bytes = 0;

  constructor(readonly file: string) {
    this.tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
    this.out = createWriteStream(this.tmp);
    this.out.on('error', (err) => (this.failed = err));
  }

  /** Queues text; awaits the stream's drain when its buffer is full. */
  async write(text: string): Promise<void> {
    this.buf.push(text);
    this.bufLen += text.length;
    if (this.bufLen >= CHUNK) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.bufLen === 0) return;
    const chunk = this.buf.join('');
    this.buf = [];
    this.bufLen = 0;
    this.bytes += Buffer.byteLength(chunk);
    // once() rejects if the stream emits 'error' while we wait.
    if (!this.out.write(chunk)) await once(this.out, 'drain');
    if (this.failed) throw this.failed;
  }

  /** Writes what is buffered, syncs to disk and renames into place. */
  async commit(): Promise<void> {
    await this.flush();
    this.out.end();
    await once(this.out, 'close');
    if (this.failed) throw this.failed;
    const fh = await open(this.tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmp, this.file);
  }

  /** Drops the temporary file (after an error). */
  async abort(): Promise<void> {
    this.out.destroy();
    await unlink(this.tmp).catch(() => undefined);
  }
}
