// The GPU host as the GPU suite sees it through nvidia-smi: the card's name and its used memory over time.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

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
