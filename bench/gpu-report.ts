// The GPU suite's markdown report: the run's table, a goals section (ratio vs the goals, by how much it
// is missed, the dominant stage) and the notes. Pure: bench/gpu.ts writes it, bench/gpu-rerender.ts re-renders
// a committed run.
import type { Task } from './gpu-ort.js';
import type { SuiteResult } from './types.js';

/** The ratio goals (ours vs PyTorch eager fp32, same GPU). */
export const GOALS: Record<Task, number> = { sps: 6, mps: 10, amg: 8 };

/**
 * How far a ratio is from its goal: as a factor, and where the row has both p50s, in milliseconds, since a
 * near miss reads 1.0× at one decimal (run 20: ViT-H SPS 5.92× of 6×, 0.5 ms).
 */
function missedBy(r: Record<string, unknown>, ratio: number, goal: number): string {
  const factor = `${(goal / ratio).toFixed(2)}×`;
  const p50 = r.p50_ms;
  const torch = r.torch_p50_ms;
  if (typeof p50 !== 'number' || typeof torch !== 'number') return factor;
  return `${factor}: p50 ${p50} ms, the goal needs ≤ ${(torch / goal).toFixed(1)} ms`;
}

/**
 * Per architecture and task, the best ratio reached against its goal: how far it is from the goal, and
 * which stage dominates (the "where the time goes" column), from the rows of a run.
 */
export function goalLines(rows: SuiteResult['rows']): string[] {
  const best = new Map<string, Record<string, unknown>>();
  for (const r of rows) {
    const key = `${String(r.arch)} ${String(r.task)}`;
    const b = best.get(key);
    if (typeof r.speedup === 'number' && (!b || (r.speedup as number) > (b.speedup as number)))
      best.set(key, r);
  }
  const out = [
    '## Goals',
    '',
    '| arch | task | best path | ratio | goal | of goal | missed by | largest stage (dec/enc/dec/post ms) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of best.values()) {
    const goal = GOALS[r.task as Task];
    const ratio = r.speedup as number;
    const stages = String(r['stages p50 dec/enc/dec/post']).split('/').map(Number);
    const names = ['image decode', 'encoder', 'decoder', 'post-processing'];
    const top = stages.indexOf(Math.max(...stages));
    out.push(
      `| ${String(r.arch)} | ${String(r.task)} | ${String(r.path)} | ${ratio}× | ${goal}× | ${Math.round((100 * ratio) / goal)}% | ` +
        `${ratio >= goal ? 'met' : missedBy(r, ratio, goal)} | ${names[top]} (${String(r['stages p50 dec/enc/dec/post'])}) |`,
    );
  }
  return out;
}

/** One model folder's result of native-models/reference/ortx_ab.mjs (p50 ms per way, per graph). */
export interface OrtxAb {
  model: string;
  graphs: { label: string; p50: Record<string, number>; graphError: string | null }[];
}

/**
 * The per-graph comparison of onnxruntime-node, ortx and ortx with CUDA graphs (pipeline stage ortxab), when
 * the run's docs folder holds its files: the "where the time goes" of the cudaGraphs rows.
 */
export function ortxLines(ab: OrtxAb[]): string[] {
  if (ab.length === 0) return [];
  const ways = ['node', 'ortx', 'graph', 'ortxDev', 'graphDev'];
  const out = [
    '## Per graph: onnxruntime-node, ortx, ortx + CUDA graph (p50 ms; *Dev: outputs left on the device)',
    '',
    `| model | graph | ${ways.join(' | ')} | graph refused |`,
    `| --- | --- | ${ways.map(() => '---').join(' | ')} | --- |`,
  ];
  for (const m of ab) {
    for (const g of m.graphs) {
      const cells = ways.map((w) => (g.p50[w] === undefined ? '' : String(g.p50[w])));
      out.push(`| ${m.model.split('/').pop()} | ${g.label} | ${cells.join(' | ')} | ${g.graphError ?? ''} |`);
    }
  }
  return out;
}

/** One model folder's result of native-models/reference/cuda_options.mjs (per graph, per option set). */
export interface CudaOptionsRun {
  model: string;
  /** The option sets by name, as given to ortx (OrtxCudaOptions). */
  sets?: Record<string, Record<string, unknown>>;
  graphs: {
    label: string;
    best: string | null;
    sets: Record<
      string,
      { p50?: number; p90?: number; firstMs?: number; maxAbsVsFirst?: number; error?: string }
    >;
  }[];
}

/**
 * CUDA provider option sets per graph (pipeline stage cudaopts): p50 ms, each set's change against the first
 * set (onnxruntime's defaults), and the sets onnxruntime refused, so the engine's choice can be read off.
 */
export function cudaOptionLines(runs: CudaOptionsRun[]): string[] {
  if (runs.length === 0) return [];
  const names = [...new Set(runs.flatMap((r) => r.graphs.flatMap((g) => Object.keys(g.sets))))];
  const out = [
    '## CUDA provider options per graph (p50 ms, outputs on the device; % against the first column)',
    '',
    `| model | graph | ${names.join(' | ')} | best |`,
    `| --- | --- | ${names.map(() => '---').join(' | ')} | --- |`,
  ];
  for (const m of runs) {
    for (const g of m.graphs) {
      const base = g.sets[names[0]!]?.p50;
      const cells = names.map((n) => {
        const r = g.sets[n];
        if (!r) return '';
        if (r.error || r.p50 === undefined) return `refused: ${r.error ?? '?'}`;
        const pct = base
          ? ` (${r.p50 <= base ? '−' : '+'}${Math.abs(Math.round((100 * (r.p50 - base)) / base))}%)`
          : '';
        return `${r.p50}${n === names[0] ? '' : pct}`;
      });
      out.push(
        `| ${m.model.split('/').pop()} | ${g.label} | ${cells.join(' | ')} | ${g.best ?? 'none ran'} |`,
      );
    }
  }
  return out;
}

/** Largest logit difference from onnxruntime's defaults that a set may have and still be chosen. */
export const CUDA_OPTIONS_MAX_ABS = 0.1;

/**
 * The option set with the lowest summed p50 over the run's graphs (encoder + decoder at 1 and 32 prompts),
 * among the sets that ran every graph and agree with the first set's outputs; null when none qualifies.
 */
export function chooseCudaOptions(
  run: CudaOptionsRun,
): { name: string; cuda: Record<string, unknown>; sumMs: number } | null {
  let best: { name: string; cuda: Record<string, unknown>; sumMs: number } | null = null;
  for (const [name, cuda] of Object.entries(run.sets ?? {})) {
    let sum = 0;
    let ok = run.graphs.length > 0;
    for (const g of run.graphs) {
      const r = g.sets[name];
      if (!r || r.error || r.p50 === undefined || (r.maxAbsVsFirst ?? 0) > CUDA_OPTIONS_MAX_ABS) ok = false;
      else sum += r.p50;
    }
    if (ok && (!best || sum < best.sumMs)) best = { name, cuda, sumMs: +sum.toFixed(3) };
  }
  return best;
}

/** The markdown report of a run (also re-rendered from a committed JSON by bench/gpu-report.ts). */
export function renderReport(
  device: string,
  date: string,
  provider: string,
  result: SuiteResult,
  ortVersion: string,
): string {
  const cols = Object.keys(result.rows[0] ?? {});
  return [
    `# GPU benchmark — ${device}`,
    '',
    `${date} · provider ${provider} · ${String((result.extra as { images: number }).images)} images · onnxruntime-node ${ortVersion}`,
    '',
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...result.rows.map((r) => `| ${cols.map((c) => String(r[c] ?? '')).join(' | ')} |`),
    '',
    ...goalLines(result.rows),
    '',
    ...ortxLines((result.extra as { ortxAb?: OrtxAb[] }).ortxAb ?? []),
    '',
    ...cudaOptionLines((result.extra as { cudaOptions?: CudaOptionsRun[] }).cudaOptions ?? []),
    '',
    ...(result.notes ?? []).map((n) => `- ${n}`),
    '',
  ].join('\n');
}
