// The GPU suite's engine modes (GPU_BENCH_CUDA_GRAPHS, named CUDA option sets) and the files earlier pipeline
// stages leave in the docs folder (cudaopts, ortxab) that the suite reads.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GpuBenchError } from './gpu-ort.js';
import { chooseCudaOptions, type CudaOptionsRun } from './gpu-report.js';

export interface GraphMode {
  graphs: 'auto' | 'on' | 'off';
  /** A named CUDA provider option set (GPU_BENCH_ORTX_CUDA) for the engine's ortx sessions. */
  name?: string;
  cuda?: Record<string, unknown>;
  /** "+staged": encoder outputs download through pinned memory (MASKROOM_ORTX_DOWNLOAD), not pageable. */
  download?: 'staged';
  /**
   * "+postgraph": mask post-processing per image size as a CUDA graph (MASKROOM_ORTX_POST=graph); "+posthost":
   * on the CPU cores from the decoder's downloaded planes (MASKROOM_ORTX_POST=host).
   */
  post?: 'graph' | 'host';
}

const SUFFIXES = ['staged', 'postgraph', 'posthost'] as const;

/**
 * GPU_BENCH_CUDA_GRAPHS ("off,auto,auto:cudnn,auto+staged,auto+postgraph,auto+posthost") with the option sets
 * it names from GPU_BENCH_ORTX_CUDA.
 */
export function parseGraphModes(spec: string, setsJson: string | undefined): GraphMode[] {
  let sets: Record<string, Record<string, unknown>> = {};
  if (setsJson) {
    const text = existsSync(setsJson) ? readFileSync(setsJson, 'utf8') : setsJson;
    try {
      sets = JSON.parse(text) as typeof sets;
    } catch {
      throw new GpuBenchError(`GPU_BENCH_ORTX_CUDA is neither a JSON object nor a file: ${setsJson}`);
    }
    if (typeof sets !== 'object' || sets === null || Array.isArray(sets))
      throw new GpuBenchError('GPU_BENCH_ORTX_CUDA must be a JSON object of named option sets');
  }
  return spec
    .split(',')
    .filter(Boolean)
    .map((m): GraphMode => {
      const [spec, ...suffixes] = m.split('+');
      const [graphs, name, ...rest] = spec!.split(':');
      if (!['auto', 'on', 'off'].includes(graphs!) || rest.length)
        throw new GpuBenchError(
          `unknown mode ${m} in GPU_BENCH_CUDA_GRAPHS (off, auto, on, auto:<set>, auto+staged, auto+postgraph, auto+posthost)`,
        );
      const g = graphs as GraphMode['graphs'];
      for (const x of suffixes) {
        if (!(SUFFIXES as readonly string[]).includes(x))
          throw new GpuBenchError(`${m}: unknown suffix +${x} (+${SUFFIXES.join(', +')})`);
        if (suffixes.indexOf(x) !== suffixes.lastIndexOf(x))
          throw new GpuBenchError(`${m}: +${x} given twice`);
        if (g === 'off') throw new GpuBenchError(`${m}: +${x} applies to the ortx sessions (auto or on)`);
      }
      if (suffixes.includes('postgraph') && suffixes.includes('posthost'))
        throw new GpuBenchError(`${m}: +postgraph and +posthost are two places for the same work: pick one`);
      const mode = withOptionSet(m, g, name, sets);
      return {
        ...mode,
        ...(suffixes.includes('staged') ? { download: 'staged' as const } : {}),
        ...(suffixes.includes('postgraph') ? { post: 'graph' as const } : {}),
        ...(suffixes.includes('posthost') ? { post: 'host' as const } : {}),
      };
    });
}

/** The mode `graphs[:name]` with the option set it names (none for a bare mode). */
function withOptionSet(
  m: string,
  g: GraphMode['graphs'],
  name: string | undefined,
  sets: Record<string, Record<string, unknown>>,
): GraphMode {
  if (name === undefined) return { graphs: g };
  if (g === 'off') throw new GpuBenchError(`${m}: option sets apply to the ortx sessions (auto or on)`);
  // "best": the set the run's cudaopts stage found fastest for each model (chooseCudaOptions).
  if (name === 'best' && !sets.best) return { graphs: g, name };
  if (!/^[A-Za-z0-9_-]+$/.test(name) || !sets[name])
    throw new GpuBenchError(`${m}: no option set "${name}" in GPU_BENCH_ORTX_CUDA`);
  return { graphs: g, name, cuda: sets[name] };
}

/**
 * The row's suffix: "" (off), " cudagraph", " cudagraph <set>", then " staged" for +staged and " postgraph" /
 * " posthost" for +postgraph / +posthost.
 */
export function modeTag(mode: GraphMode): string {
  if (mode.graphs === 'off') return '';
  return (
    (mode.name ? ` cudagraph ${mode.name}` : ' cudagraph') +
    (mode.download ? ` ${mode.download}` : '') +
    (mode.post ? ` post${mode.post}` : '')
  );
}

/** The fastest agreeing option set of the cudaopts stage for one model folder, or null. */
export function bestCudaOptions(docsDir: string, folder: string) {
  const f = path.join(docsDir, `cuda-options-${folder}.json`);
  if (!existsSync(f)) return null;
  return chooseCudaOptions(JSON.parse(readFileSync(f, 'utf8')) as CudaOptionsRun);
}

/** The JSON files a pipeline stage left in the docs folder, by name prefix (none: []). */
export function readStageJson<T>(docsDir: string, prefix: string): T[] {
  if (!existsSync(docsDir)) return [];
  return readdirSync(docsDir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(docsDir, f), 'utf8')) as T);
}
