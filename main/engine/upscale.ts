// Chosen low-res planes → full-size masks as RLE, area and box, on the host: through the ortx addon's native
// post-processing (ortx/masks_kernel.cc, split over the cores) when it is built, else in TypeScript
// (lowResToMask, then common/rle). Both give the same strings, areas and boxes bit for bit (upscale.test.ts); the
// native one takes a fraction of the time (one 960×540 mask on a 2-core machine: 14 ms in TypeScript, about 1 ms
// native for a real mask and 3-5 ms for a noisy one; docs/engine.md).
import { area, compress, encode, toBbox, type RleSummary } from '../../common/rle/index.js';
import { envChoice } from './errors.js';
import { loadMaskUpscaler, type MaskUpscaler } from './ortx.js';
import { LOW_RES, lowResToMask } from './postprocess.js';
import type { ImageGeometry } from './preprocess.js';

const PLANE = LOW_RES * LOW_RES;

/**
 * Which host post-processing runs: MASKROOM_UPSCALE=native (the default; TypeScript where the addon is
 * missing) or js (always TypeScript: a check, or a workaround should the native one misbehave).
 */
export function hostUpscaler(): { upscaler: MaskUpscaler | null; reason: string | null } {
  if (envChoice('MASKROOM_UPSCALE', ['native', 'js'], 'native') === 'js')
    return { upscaler: null, reason: 'MASKROOM_UPSCALE=js' };
  return loadMaskUpscaler();
}

/** Mask k from plane `index[k]` of `planes` ([n × 256²]): SAM's postprocess_masks, `> threshold`, as RLE. */
export async function upscaleOnHost(
  planes: Float32Array,
  index: Int32Array,
  g: ImageGeometry,
  threshold: number,
  upscaler: MaskUpscaler | null = hostUpscaler().upscaler,
): Promise<RleSummary[]> {
  if (upscaler) return upscaler.upscale(planes, index, g, threshold);
  return Array.from(index, (p) => {
    const mask = lowResToMask(planes.subarray(p * PLANE, (p + 1) * PLANE), g, threshold);
    const counts = encode(mask, g.height, g.width);
    return { rle: compress(counts), area: area(counts), bbox: toBbox(counts) };
  });
}
