import { describe, expect, it } from 'vitest';
import { goalLines, ortxLines } from './gpu-report.js';

const row = (path: string, task: string, speedup: number, stages: string) => ({
  arch: 'sam_vit_h',
  path,
  task,
  speedup,
  'stages p50 dec/enc/dec/post': stages,
});

describe('GPU report goals section', () => {
  it('keeps the best path per task, says by how much the goal is missed and which stage dominates', () => {
    const lines = goalLines([
      row('engine fp32', 'sps', 2.05, '10/75/4/1'),
      row('engine fp16', 'sps', 2.47, '10/59/4/1'),
      row('engine fp16 b1024', 'amg', 8.5, '0/20/40/0'),
    ]);
    const sps = lines.find((l) => l.includes('| sps |'))!;
    expect(sps).toContain('engine fp16 |');
    expect(sps).toContain('| 2.47× | 6× | 41% | 2.4× | encoder (10/59/4/1) |');
    expect(lines.filter((l) => l.includes('| sps |'))).toHaveLength(1);
    expect(lines.find((l) => l.includes('| amg |'))).toContain('| met | decoder');
  });

  it('tabulates ortx_ab results per graph, blank where a way did not run, with the refusal', () => {
    expect(ortxLines([])).toEqual([]);
    const lines = ortxLines([
      {
        model: '/tmp/gpuwork/models/sam_vit_b-fp16',
        graphs: [
          { label: 'encoder', p50: { node: 8.97, ortx: 12.01, graph: 11.76 }, graphError: null },
          { label: 'decoder_batched b1', p50: { node: 2.9, ortx: 3.7 }, graphError: 'not captured' },
        ],
      },
    ]);
    expect(lines).toContain('| sam_vit_b-fp16 | encoder | 8.97 | 12.01 | 11.76 |  |  |  |');
    expect(lines).toContain('| sam_vit_b-fp16 | decoder_batched b1 | 2.9 | 3.7 |  |  |  | not captured |');
  });
});
