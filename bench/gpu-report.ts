// The GPU suite's markdown report: the run's table, a goals section (ratio vs the issue's goals, by how much it
// is missed, the dominant stage) and the notes. Pure: bench/gpu.ts writes it, bench/gpu-rerender.ts re-renders
// a committed run.
import type { Task } from './gpu-ort.js';
import type { SuiteResult } from './types.js';

/** The issue's ratio goals (ours vs PyTorch eager fp32, same GPU). */
export const GOALS: Record<Task, number> = { sps: 6, mps: 10, amg: 8 };

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
        `${ratio >= goal ? 'met' : `${(goal / ratio).toFixed(1)}×`} | ${names[top]} (${String(r['stages p50 dec/enc/dec/post'])}) |`,
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
    ...(result.notes ?? []).map((n) => `- ${n}`),
    '',
  ].join('\n');
}
