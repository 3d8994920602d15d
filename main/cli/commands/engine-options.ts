// Options every command that loads a SAM model shares: where it runs and its embedding cache.
import { Option, type Command } from 'commander';
import type { CudaGraphsChoice, FastPathChoice, ProviderChoice } from '../../engine/index.js';

export interface EngineFlags {
  provider: ProviderChoice;
  fastPath: FastPathChoice;
  cudaGraphs: CudaGraphsChoice;
  cache: boolean;
  cacheDir?: string;
}

/** Adds --provider, --fast-path, --cuda-graphs, --cache-dir and --no-cache. */
export function engineOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--provider <name>', 'execution provider').choices(['auto', 'cpu', 'cuda']).default('auto'),
    )
    .addOption(
      new Option('--fast-path <mode>', 'GPU pre/post-processing graphs (auto: on with CUDA)')
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .addOption(
      new Option('--cuda-graphs <mode>', 'encoder and decoder as CUDA graphs via ortx (auto: on with CUDA)')
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .option('--cache-dir <dir>', 'embedding cache folder (default: ~/.cache/maskroom/embeddings)')
    .option('--no-cache', 'do not read or write the disk embedding cache');
}
