export interface BenchOptions {
  provider: 'cpu' | 'cuda';
  /** Fewer iterations, for smoke runs. */
  quick: boolean;
  outDir: string;
}

export interface SuiteResult {
  /** One row per measured thing; printed with console.table. */
  rows: Record<string, string | number | null>[];
  notes?: string[];
  /** Anything else worth keeping in the JSON. */
  extra?: Record<string, unknown>;
}

/** p-th percentile (0..100) of a list of numbers, by linear interpolation. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = ((s.length - 1) * p) / 100;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}
