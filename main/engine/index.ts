// Public API of the SAM engine. Everything else in main/engine is internal.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export { SamEngine, type SamEngineOptions, type ImageInput } from './engine.js';
export { EngineError, ImageError, type EngineErrorCode, type ImageErrorCode } from './errors.js';
export {
  ModelManifestSchema,
  loadModelInfo,
  SAM_NORMALIZATION,
  type ModelManifest,
  type ModelInfo,
  type DecoderFormat,
} from './manifest.js';
export type { Prompt, PromptPoint } from './prompt.js';
export { lowResToMask, chooseMask, LOW_RES } from './postprocess.js';
export { upscaleOnHost } from './upscale.js';
export { geometryFor, toInputFrame, type ImageGeometry } from './preprocess.js';
export { DEFAULT_MEMORY_CACHE_BYTES, EMBEDDING_FORMAT_VERSION, defaultCacheDir } from './cache.js';
export { MAX_IMAGE_PIXELS } from './image.js';
export type * from './types.js';

/**
 * Absolute path of native-models/fixtures/tinysam-shapes, from the sources (vitest, tsx) or from dist/.
 */
export function fixtureModelDir(): string {
  return path.join(repoRoot(), 'native-models', 'fixtures', 'tinysam-shapes');
}

/** Absolute path of native-models/fixtures/shapes (8 scenes with 16-bit instance ground truth). */
export function fixtureShapesDir(): string {
  return path.join(repoRoot(), 'native-models', 'fixtures', 'shapes');
}

function repoRoot(): string {
  // main/engine/index.ts in the sources, dist/main/engine/index.js when built: walk up to package.json.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'native-models'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the Maskroom root (package.json next to native-models/) above main/engine');
}
