// SAM's automatic mask generator (SamAutomaticMaskGenerator._generate_masks / _process_crop /
// _process_batch / postprocess_small_regions), with the model behind an interface so the same code runs
// in the engine worker against ONNX sessions and in tests. Difference from SAM, on purpose: the predicted-IoU
// and stability filters and a preliminary box work on the 256² low-res logits, and only survivors are
// upscaled, one at a time, straight into column-major RLE — memory stays O(batch × 256² + H), never B×H×W.
import { countsToString, decode as decodeRle, encode as encodeRle } from '../rle/index.js';
import { boxIou, boxXyxyToXywh, maskToBox, nms } from './boxes.js';
import { boxArea, generateCropBoxes, isBoxNearCropEdge } from './crops.js';
import { buildAllLayerPointGrids } from './grid.js';
import { removeSmallRegions } from './regions.js';
import { lowResBox, stabilityScore } from './stability.js';
import { LOW_RES, MaskUpscaler } from './upscale.js';
import type { AmgMask, AmgOptions, BoxXyxy } from './types.js';

const MAP = LOW_RES * LOW_RES;

/** The decoder's answer for n single-point prompts, multimask: 4 outputs per prompt (0 = single-mask). */
export interface AmgDecoded {
  /** Predicted IoU, [n × 4]. */
  iou: ArrayLike<number>;
  /** Low-res mask logits, [n × 4 × 256 × 256]. */
  lowRes: ArrayLike<number>;
}

/** What the generator needs from a SAM model. */
export interface AmgBackend {
  /** Most prompts one {@link decode} call takes (1 for the official one-prompt-per-call decoder). */
  readonly maxBatch: number;
  /** Embeds the crop `[x0, y0, x1, y1)` of the image; later decodes run against it. */
  setCrop(crop: BoxXyxy): Promise<void>;
  /** Decodes single positive points given flat `[x, y, …]` in crop pixels. */
  decode(points: Float64Array): Promise<AmgDecoded>;
}

/** Progress inside one image: crops and prompt batches done. */
export interface AmgProgress {
  crop: number;
  crops: number;
  pointsDone: number;
  points: number;
}

/** Counters that show where masks were dropped (for logs, tests and the bench). */
export interface AmgStats {
  candidates: number;
  afterIou: number;
  afterStability: number;
  afterEdge: number;
  afterNms: number;
  afterCropNms: number;
  final: number;
  decodeCalls: number;
  decodeMs: number;
  postMs: number;
}

/** The part of an AbortSignal the generator reads (common/ has no DOM or Node types). */
export interface AmgSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

function checkAbort(signal: AmgSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error('mask generation aborted');
}

interface Candidate {
  counts: string;
  area: number;
  box: BoxXyxy; // image frame
  iou: number;
  stability: number;
  point: [number, number]; // image frame
  crop: BoxXyxy;
}

/**
 * Generates masks for a whole imH×imW image. `options` must be resolved (see parseAmgOptions). Honours
 * `signal` between decoder calls (throws its reason).
 */
export async function generateMasks(
  imH: number,
  imW: number,
  options: AmgOptions,
  backend: AmgBackend,
  hooks: { signal?: AmgSignal; onProgress?: (p: AmgProgress) => void; now?: () => number } = {},
): Promise<{ masks: AmgMask[]; stats: AmgStats }> {
  const now = hooks.now ?? (() => Date.now());
  const grids = buildAllLayerPointGrids(
    options.pointsPerSide,
    options.cropNLayers,
    options.cropNPointsDownscaleFactor,
  );
  const crops = generateCropBoxes(imH, imW, options.cropNLayers, options.cropOverlapRatio);
  const stats: AmgStats = {
    candidates: 0,
    afterIou: 0,
    afterStability: 0,
    afterEdge: 0,
    afterNms: 0,
    afterCropNms: 0,
    final: 0,
    decodeCalls: 0,
    decodeMs: 0,
    postMs: 0,
  };
  const batch = Math.max(1, Math.min(options.pointsPerBatch, backend.maxBatch));
  const totalPoints = crops.reduce((s, c) => s + grids[c.layer]!.length / 2, 0);
  let pointsDone = 0;
  const all: Candidate[] = [];
  const origBox: BoxXyxy = [0, 0, imW, imH];

  for (let ci = 0; ci < crops.length; ci++) {
    const { box: crop, layer } = crops[ci]!;
    const [cx0, cy0, cx1, cy1] = crop;
    const cw = cx1 - cx0;
    const ch = cy1 - cy0;
    checkAbort(hooks.signal);
    await backend.setCrop(crop);
    const up = new MaskUpscaler(ch, cw);
    const grid = grids[layer]!;
    const nPoints = grid.length / 2;
    const inCrop: Candidate[] = [];
    for (let p0 = 0; p0 < nPoints; p0 += batch) {
      checkAbort(hooks.signal);
      const n = Math.min(batch, nPoints - p0);
      const pts = new Float64Array(n * 2);
      // SAM scales the unit grid by the crop size (points_scale = cropped_im_size[::-1]).
      for (let k = 0; k < n; k++) {
        pts[2 * k] = grid[2 * (p0 + k)]! * cw;
        pts[2 * k + 1] = grid[2 * (p0 + k) + 1]! * ch;
      }
      const t0 = now();
      const out = await backend.decode(pts);
      const t1 = now();
      stats.decodeCalls++;
      stats.decodeMs += t1 - t0;
      if (out.iou.length < n * 4 || out.lowRes.length < n * 4 * MAP) {
        throw new RangeError(`decoder returned ${out.iou.length / 4} results for ${n} prompts`);
      }
      for (let k = 0; k < n; k++) {
        // multimask_output=True: SAM keeps outputs 1..3 and drops the single-mask output 0.
        for (let m = 1; m < 4; m++) {
          stats.candidates++;
          const iou = out.iou[k * 4 + m]!;
          if (options.predIouThresh > 0 && !(iou > options.predIouThresh)) continue;
          stats.afterIou++;
          const start = (k * 4 + m) * MAP;
          const stab = stabilityScore(
            out.lowRes,
            start,
            up.region,
            options.maskThreshold,
            options.stabilityScoreOffset,
          );
          if (options.stabilityScoreThresh > 0 && !(stab >= options.stabilityScoreThresh)) continue;
          stats.afterStability++;
          const lb = lowResBox(out.lowRes, start, up.region, options.maskThreshold);
          // An empty mask cannot be an object; SAM drops it too, through NaN stability or NMS.
          if (!lb) continue;
          const box = up.box(out.lowRes, start, options.maskThreshold, lb);
          if (!box) continue;
          if (isBoxNearCropEdge(box, crop, origBox)) continue;
          stats.afterEdge++;
          const rle = up.rleCounts(out.lowRes, start, options.maskThreshold, box, {
            imH,
            imW,
            offX: cx0,
            offY: cy0,
          });
          inCrop.push({
            counts: countsToString(rle.counts),
            area: rle.area,
            box,
            iou,
            stability: stab,
            point: [pts[2 * k]! + cx0, pts[2 * k + 1]! + cy0],
            crop,
          });
        }
      }
      stats.postMs += now() - t1;
      pointsDone += n;
      hooks.onProgress?.({ crop: ci, crops: crops.length, pointsDone, points: totalPoints });
    }
    // NMS within the crop, on boxes in the crop's coordinates, scored by predicted IoU.
    const keep = nms(
      inCrop.map((c) => c.box),
      inCrop.map((c) => c.iou),
      options.boxNmsThresh,
    );
    stats.afterNms += keep.length;
    for (const i of keep) {
      const c = inCrop[i]!;
      c.box = [c.box[0] + cx0, c.box[1] + cy0, c.box[2] + cx0, c.box[3] + cy0];
      all.push(c);
    }
  }

  let kept = all;
  if (crops.length > 1) {
    // Prefer masks from smaller crops.
    const keep = nms(
      all.map((c) => c.box),
      all.map((c) => 1 / boxArea(c.crop)),
      options.cropNmsThresh,
    );
    kept = keep.map((i) => all[i]!);
  }
  stats.afterCropNms = kept.length;

  if (options.minMaskRegionArea > 0 && kept.length > 0) {
    kept = postprocessSmallRegions(
      kept,
      imH,
      imW,
      options.minMaskRegionArea,
      Math.max(options.boxNmsThresh, options.cropNmsThresh),
    );
  }
  stats.final = kept.length;

  const masks: AmgMask[] = kept.map((c) => ({
    segmentation: { size: [imH, imW], counts: c.counts },
    area: c.area,
    bbox: boxXyxyToXywh(c.box),
    predictedIou: c.iou,
    stabilityScore: c.stability,
    pointCoords: [c.point],
    cropBox: boxXyxyToXywh(c.crop),
  }));
  return { masks, stats };
}

// SamAutomaticMaskGenerator.postprocess_small_regions: fill small holes, erase small islands, then NMS
// preferring masks that did not need changing. One H×W mask at a time.
function postprocessSmallRegions(
  cands: Candidate[],
  imH: number,
  imW: number,
  minArea: number,
  nmsThresh: number,
): Candidate[] {
  const boxes: BoxXyxy[] = [];
  const scores: number[] = [];
  // Changed masks are kept as run lengths: only one H×W mask is decoded at any time.
  const changed = new Map<number, number[]>();
  cands.forEach((c, i) => {
    const mask = decodeRle({ size: [imH, imW], counts: c.counts });
    const a = removeSmallRegions(mask, imH, imW, minArea, 'holes');
    const b = removeSmallRegions(a.mask, imH, imW, minArea, 'islands');
    const unchanged = !a.changed && !b.changed;
    boxes.push(unchanged ? c.box : maskToBox(b.mask, imH, imW));
    scores.push(unchanged ? 1 : 0);
    if (!unchanged) changed.set(i, encodeRle(b.mask, imH, imW).counts);
  });
  const keep = nms(boxes, scores, nmsThresh);
  return keep.map((i) => {
    const c = cands[i]!;
    const counts = changed.get(i);
    if (!counts) return c;
    let area = 0;
    for (let k = 1; k < counts.length; k += 2) area += counts[k]!;
    return { ...c, counts: countsToString(counts), area, box: boxes[i]! };
  });
}

/** Largest box IoU between any two masks (a check that NMS held; 0 for fewer than two). */
export function maxPairwiseBoxIou(masks: readonly AmgMask[]): number {
  let m = 0;
  const boxes = masks.map(
    (k) => [k.bbox[0], k.bbox[1], k.bbox[0] + k.bbox[2], k.bbox[1] + k.bbox[3]] as BoxXyxy,
  );
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) m = Math.max(m, boxIou(boxes[i]!, boxes[j]!));
  return m;
}
