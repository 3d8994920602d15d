// The GPU host as the GPU suite sees it: through nvidia-smi the card's name and its used memory over time, and
// the CPU side the per-image stages run on.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeForSam, jpegDecodeVia } from '../main/engine/image.js';
import { percentile } from './types.js';

/** Polls nvidia-smi for the card's used memory; `peak()` gives the maximum seen since `reset()`. */
export class GpuMemory {
  private proc: ChildProcess | null = null;
  private max = 0;
  start(): void {
    try {
      this.proc = spawn(
        'nvidia-smi',
        ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '100'],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      this.proc.stdout?.on('data', (b: Buffer) => {
        for (const line of b.toString().split('\n')) {
          const v = Number.parseInt(line, 10);
          if (Number.isFinite(v)) this.max = Math.max(this.max, v);
        }
      });
      this.proc.on('error', () => (this.proc = null));
    } catch {
      this.proc = null;
    }
  }
  reset(): void {
    this.max = 0;
  }
  peak(): number | null {
    return this.proc ? this.max : null;
  }
  stop(): void {
    this.proc?.kill();
  }
}

export function deviceName(): string {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8' })
      .trim()
      .split('\n')[0]!;
  } catch {
    return 'unknown GPU';
  }
}

export interface HostProfile {
  cpu: string;
  threads: number;
  /**
   * p50 of the engine's own decode (upscaling left to the GPU) of one of the bench's images, and the decoder
   * that does it (libjpeg-turbo or sharp, with why).
   */
  decode: { image: string; runs: number; p50Ms: number; via: string };
}

/**
 * The CPU the per-image stages ran on, and how fast it decodes one of the bench's images. Two H100 hosts ran
 * the image-decode stage at 4 and 7–9 ms and the other CPU-side stages at about twice the time (docs/gpu.md,
 * run 18): each table says which kind of host it had, so that tables from different hosts are not compared
 * blind.
 */
export async function hostProfile(image: string, runs = 20): Promise<HostProfile> {
  if (!(Number.isInteger(runs) && runs >= 1))
    throw new RangeError(`runs must be a positive integer, got ${runs}`);
  const bytes = readFileSync(image);
  // One decode first: sharp's first call loads libvips' codecs.
  try {
    await decodeForSam(bytes, 1024, { deferUpscale: true });
  } catch (err) {
    throw new Error(`host profile: cannot decode ${image}: ${(err as Error).message}`, { cause: err });
  }
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await decodeForSam(bytes, 1024, { deferUpscale: true });
    ms.push(performance.now() - t0);
  }
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() || 'unknown CPU',
    threads: cpus.length,
    decode: { image: path.basename(image), runs, p50Ms: percentile(ms, 50), via: jpegDecodeVia() },
  };
}

export function hostNote(h: HostProfile): string {
  return (
    `host: ${h.cpu}, ${h.threads} threads; image decode (${h.decode.via}, as the engine does it) of ${h.decode.image}: ` +
    `p50 ${h.decode.p50Ms.toFixed(2)} ms over ${h.decode.runs} runs`
  );
}
