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

  it('+pageable: the same mode with plain cudaMemcpy downloads, tagged apart', () => {
    const modes = parseGraphModes('auto,auto+pageable,auto:heur+pageable', sets);
    expect(modes).toEqual([
      { graphs: 'auto' },
      { graphs: 'auto', download: 'pageable' },
      { graphs: 'auto', name: 'heur', cuda: { cudnnConvAlgoSearch: 'HEURISTIC' }, download: 'pageable' },
    ]);
    expect(modes.map(modeTag)).toEqual([' cudagraph', ' cudagraph pageable', ' cudagraph heur pageable']);
    expect(() => parseGraphModes('off+pageable', sets)).toThrow(/download applies to the ortx sessions/);
    expect(() => parseGraphModes('auto+pinned', sets)).toThrow(/only download suffix is \+pageable/);
    expect(() => parseGraphModes('auto+pageable+x', sets)).toThrow(/unknown mode/);
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
