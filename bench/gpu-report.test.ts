import { describe, expect, it } from 'vitest';
import { chooseCudaOptions, cudaOptionLines, goalLines, ortxLines } from './gpu-report.js';

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
    expect(sps).toContain('| 2.47× | 6× | 41% | 2.43× | encoder (10/59/4/1) |');
    expect(lines.filter((l) => l.includes('| sps |'))).toHaveLength(1);
    expect(lines.find((l) => l.includes('| amg |'))).toContain('| met | decoder');
  });

  it('gives a near miss in milliseconds where the row has both p50s', () => {
    const lines = goalLines([
      { ...row('engine fp16 cudagraph postgraph', 'sps', 5.92, '6/24/1/3'), p50_ms: 35, torch_p50_ms: 207.1 },
    ]);
    expect(lines.find((l) => l.includes('| sps |'))).toContain(
      '| 5.92× | 6× | 99% | 1.01×: p50 35 ms, the goal needs ≤ 34.5 ms | encoder (6/24/1/3) |',
    );
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

  it('tabulates CUDA option sets per graph against the first set, with refusals and the best set', () => {
    expect(cudaOptionLines([])).toEqual([]);
    const lines = cudaOptionLines([
      {
        model: '/tmp/gpuwork/models/sam_vit_h-fp16',
        graphs: [
          {
            label: 'encoder',
            best: 'sdpa-cudnn',
            sets: {
              'ort-default': { p50: 30 },
              'sdpa-cudnn': { p50: 24 },
              nhwc: { error: 'unknown option prefer_nhwc' },
              slow: { p50: 33 },
            },
          },
        ],
      },
    ]);
    expect(lines[2]).toBe('| model | graph | ort-default | sdpa-cudnn | nhwc | slow | best |');
    expect(lines).toContain(
      '| sam_vit_h-fp16 | encoder | 30 | 24 (−20%) | refused: unknown option prefer_nhwc | 33 (+10%) | sdpa-cudnn |',
    );
  });

  it('chooses the fastest option set over all graphs among those that ran everything and agree', () => {
    const run = {
      model: 'm',
      sets: { a: {}, b: { x: 1 }, c: { y: 1 }, d: { z: 1 } },
      graphs: [
        {
          label: 'encoder',
          best: 'c',
          sets: { a: { p50: 10 }, b: { p50: 9 }, c: { p50: 5, maxAbsVsFirst: 0.5 }, d: { p50: 1 } },
        },
        {
          label: 'b1',
          best: 'a',
          sets: { a: { p50: 2 }, b: { p50: 2.5 }, c: { p50: 2 }, d: { error: 'refused' } },
        },
      ],
    };
    expect(chooseCudaOptions(run)).toEqual({ name: 'b', cuda: { x: 1 }, sumMs: 11.5 });
    expect(chooseCudaOptions({ model: 'm', graphs: [] })).toBeNull();
  });
});
