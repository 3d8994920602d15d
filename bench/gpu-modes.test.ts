import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { modeTag, parseGraphModes } from './gpu-modes.js';

describe('GPU_BENCH_CUDA_GRAPHS with named CUDA option sets', () => {
  const sets = JSON.stringify({
    cudnn: { extra: { sdpa_kernel: 8 } },
    heur: { cudnnConvAlgoSearch: 'HEURISTIC' },
  });

  it('gives one mode per entry, with the named set and the row suffix', () => {
    const modes = parseGraphModes('off,auto,auto:cudnn,on:heur', sets);
    expect(modes).toEqual([
      { graphs: 'off' },
      { graphs: 'auto' },
      { graphs: 'auto', name: 'cudnn', cuda: { extra: { sdpa_kernel: 8 } } },
      { graphs: 'on', name: 'heur', cuda: { cudnnConvAlgoSearch: 'HEURISTIC' } },
    ]);
    expect(modes.map(modeTag)).toEqual(['', ' cudagraph', ' cudagraph cudnn', ' cudagraph heur']);
  });

  it('+staged: the same mode with downloads staged through pinned memory, tagged apart', () => {
    const modes = parseGraphModes('auto,auto+staged,auto:heur+staged', sets);
    expect(modes).toEqual([
      { graphs: 'auto' },
      { graphs: 'auto', download: 'staged' },
      { graphs: 'auto', name: 'heur', cuda: { cudnnConvAlgoSearch: 'HEURISTIC' }, download: 'staged' },
    ]);
    expect(modes.map(modeTag)).toEqual([' cudagraph', ' cudagraph staged', ' cudagraph heur staged']);
    expect(() => parseGraphModes('off+staged', sets)).toThrow(/\+staged applies to the ortx sessions/);
    expect(() => parseGraphModes('auto+pinned', sets)).toThrow(
      /unknown suffix \+pinned \(\+staged, \+postgraph, \+posthost\)/,
    );
    expect(() => parseGraphModes('auto+staged+x', sets)).toThrow(/unknown suffix \+x/);
  });

  it('+postgraph: post-processing per image size as a CUDA graph, alone or with the others', () => {
    const modes = parseGraphModes('auto+postgraph,auto:heur+staged+postgraph', sets);
    expect(modes).toEqual([
      { graphs: 'auto', post: 'graph' },
      {
        graphs: 'auto',
        name: 'heur',
        cuda: { cudnnConvAlgoSearch: 'HEURISTIC' },
        download: 'staged',
        post: 'graph',
      },
    ]);
    expect(modes.map(modeTag)).toEqual([' cudagraph postgraph', ' cudagraph heur staged postgraph']);
    expect(() => parseGraphModes('off+postgraph', sets)).toThrow(/\+postgraph applies to the ortx sessions/);
    expect(() => parseGraphModes('auto+postgraph+postgraph', sets)).toThrow(/\+postgraph given twice/);
  });

  it('+posthost: post-processing on the CPU cores; not with +postgraph', () => {
    const modes = parseGraphModes('auto+posthost,auto+staged+posthost', sets);
    expect(modes).toEqual([
      { graphs: 'auto', post: 'host' },
      { graphs: 'auto', download: 'staged', post: 'host' },
    ]);
    expect(modes.map(modeTag)).toEqual([' cudagraph posthost', ' cudagraph staged posthost']);
    expect(() => parseGraphModes('off+posthost', sets)).toThrow(/\+posthost applies to the ortx sessions/);
    expect(() => parseGraphModes('auto+postgraph+posthost', sets)).toThrow(
      /\+postgraph and \+posthost are two places for the same work/,
    );
  });

  it('reads the sets from a file too', () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'gpumodes-')), 'sets.json');
    writeFileSync(f, sets);
    expect(parseGraphModes('auto:heur', f)[0]!.cuda).toEqual({ cudnnConvAlgoSearch: 'HEURISTIC' });
  });

  it('refuses unknown modes, unknown sets, sets on the off path and bad JSON', () => {
    expect(() => parseGraphModes('fast', undefined)).toThrow(/unknown mode fast/);
    expect(() => parseGraphModes('auto:nope', sets)).toThrow(/no option set "nope"/);
    expect(() => parseGraphModes('off:cudnn', sets)).toThrow(/apply to the ortx sessions/);
    expect(() => parseGraphModes('auto:a:b', sets)).toThrow(/unknown mode/);
    expect(() => parseGraphModes('auto', '{not json')).toThrow(/neither a JSON object nor a file/);
    expect(() => parseGraphModes('auto', '[1]')).toThrow(/JSON object of named option sets/);
  });
});
