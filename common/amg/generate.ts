// SAM's automatic mask generator (SamAutomaticMaskGenerator._generate_masks / _process_crop /
// _process_batch / postprocess_small_regions), with the model behind an interface so the same code runs
// in the engine worker against ONNX sessions and in tests. Difference from SAM, on purpose: the predicted-IoU
// and stability filters and a preliminary box work on the 256² low-res logits, and only masks that survive the
// per-crop NMS are upscaled, one at a time, straight into column-major RLE (or all at once by the backend's
// upscaler) — memory stays O(candidates × 256² + H), never B×H×W.
import { countsToString, decode as decodeRle, encode as encodeRle, type Rle } from '../rle/index.js';
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

/** Candidates that survived a prefilter run next to the decoder (a superset of what the filters keep). */
export interface AmgSurvivors {
  kind: 'survivors';
  /** Per kept candidate: prompt index within this decode call (0..n-1) and mask output index (1..3). */
  prompt: Int32Array;
  mask: Int32Array;
  /** Predicted IoU per kept candidate. */
  iou: Float32Array;
  /** Low-res logits of the kept candidates, [K × 256 × 256] (full planes, row stride 256). */
  lowRes: Float32Array;
}

/** What the generator needs from a SAM model. */
export interface AmgBackend {
  /** Most prompts one {@link decode} call takes (1 for the official one-prompt-per-call decoder). */
  readonly maxBatch: number;
  /** Embeds the crop `[x0, y0, x1, y1)` of the image; later decodes run against it. */
  setCrop(crop: BoxXyxy): Promise<void>;
  /**
   * Decodes single positive points given flat `[x, y, …]` in crop pixels: either every output of every prompt
   * ({@link AmgDecoded}) or only those that passed a prefilter ({@link AmgSurvivors}; the generator re-checks
   * each one exactly, so a looser prefilter never changes the result).
   */
  decode(points: Float64Array): Promise<AmgDecoded | AmgSurvivors>;
  /**
   * Optional: the full-resolution masks of `n` low-res planes ([n × 256 × 256]) thresholded at `threshold`,
   * in the frame of the crop last set by setCrop (height ch, width cw), as compressed COCO RLE and area (an
   * RleSummary from common/rle fits). Used only when the crop is the whole image. Must match
   * MaskUpscaler.rleCounts up to float rounding at the threshold. Called once per image with the planes the
   * whole-image crop's NMS kept (not at all when it kept none); its time counts in `stats.postMs`. Compressed,
   * not counts: the string is what the generator keeps, and a GPU backend makes it in the same pass as the
   * area (summarizeRunStarts) without a counts array. The generator checks each mask's size, not its string.
   */
  upscale?(planes: Float32Array, n: number, threshold: number): Promise<{ rle: Rle; area: number }[]>;
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

// A candidate of the current crop before its NMS. It owns a copy of its low-res plane (not a view into the
// decoder's batch array, so batch buffers can be freed) because RLE is deferred until NMS has picked it.
interface Pending {
  plane: Float32Array | Float64Array;
  box: BoxXyxy; // crop frame
  iou: number;
  stability: number;
  point: [number, number]; // image frame
}

// What the per-candidate checks need about the current crop.
interface CropContext {
  up: MaskUpscaler;
  crop: BoxXyxy;
  origBox: BoxXyxy;
  options: AmgOptions;
  stats: AmgStats;
}

function copyPlane(lowRes: ArrayLike<number>, start: number): Float32Array | Float64Array {
  if (lowRes instanceof Float32Array || lowRes instanceof Float64Array)
    return lowRes.slice(start, start + MAP);
  // Float64 holds any JS number exactly, so a plane from a plain array keeps its values bit for bit.
  const out = new Float64Array(MAP);
  for (let i = 0; i < MAP; i++) out[i] = lowRes[start + i]!;
  return out;
}

// The filters of SAM's _process_batch on one mask output: predicted IoU, stability, non-empty, crop edge.
// Returns the candidate (with its box in crop pixels) or null when a filter drops it.
function checkCandidate(
  lowRes: ArrayLike<number>,
  start: number,
  iou: number,
  point: [number, number],
  cx: CropContext,
): Pending | null {
  const { up, options, stats } = cx;
  if (options.predIouThresh > 0 && !(iou > options.predIouThresh)) return null;
  stats.afterIou++;
  const stab = stabilityScore(lowRes, start, up.region, options.maskThreshold, options.stabilityScoreOffset);
  if (options.stabilityScoreThresh > 0 && !(stab >= options.stabilityScoreThresh)) return null;
  stats.afterStability++;
  const lb = lowResBox(lowRes, start, up.region, options.maskThreshold);
  // An empty mask cannot be an object; SAM drops it too, through NaN stability or NMS.
  if (!lb) return null;
  const box = up.box(lowRes, start, options.maskThreshold, lb);
  if (!box) return null;
  if (isBoxNearCropEdge(box, cx.crop, cx.origBox)) return null;
  stats.afterEdge++;
  return { plane: copyPlane(lowRes, start), box, iou, stability: stab, point };
}

// Survivor indices of a prefiltered decode, validated and in the dense path's visiting order (prompt, then mask
// output), so NMS breaks score ties exactly as it would on dense output.
function survivorOrder(out: AmgSurvivors, n: number): number[] {
  const k = out.prompt.length;
  if (out.mask.length !== k || out.iou.length !== k || out.lowRes.length < k * MAP) {
    throw new RangeError(
      `decoder survivors disagree: ${k} prompts, ${out.mask.length} masks, ${out.iou.length} IoUs, ` +
        `${out.lowRes.length / MAP} planes`,
    );
  }
  const order: number[] = [];
  for (let j = 0; j < k; j++) {
    const p = out.prompt[j]!;
    const m = out.mask[j]!;
    if (!(p >= 0 && p < n)) throw new RangeError(`decoder survivor ${j}: prompt ${p} is not in 0..${n - 1}`);
    if (!(m >= 0 && m < 4)) throw new RangeError(`decoder survivor ${j}: mask output ${m} is not in 0..3`);
    // multimask_output=True ignores the single-mask output 0, whatever the prefilter let through.
    if (m !== 0) order.push(j);
  }
  const key = (j: number) => out.prompt[j]! * 4 + out.mask[j]!;
  order.sort((i, j) => key(i) - key(j));
  for (let t = 1; t < order.length; t++) {
    if (key(order[t]!) === key(order[t - 1]!))
      throw new RangeError(
        `decoder survivors repeat prompt ${out.prompt[order[t]!]!}, mask ${out.mask[order[t]!]!}`,
      );
  }
  return order;
}

// Full-resolution compressed RLE of the candidates NMS kept, in the image frame, in `keep` order.
async function rleOfKept(
  inCrop: readonly Pending[],
  keep: readonly number[],
  backend: AmgBackend,
  cx: CropContext,
  imH: number,
  imW: number,
): Promise<{ counts: string; area: number }[]> {
  const { up, crop, options } = cx;
  const whole = crop[0] === 0 && crop[1] === 0 && crop[2] === imW && crop[3] === imH;
  if (whole && backend.upscale && keep.length > 0) {
    const planes = new Float32Array(keep.length * MAP);
    keep.forEach((i, j) => planes.set(inCrop[i]!.plane, j * MAP));
    const all = await backend.upscale(planes, keep.length, options.maskThreshold);
    if (all.length !== keep.length)
      throw new RangeError(`upscaler returned ${all.length} masks for ${keep.length} planes`);
    return all.map(({ rle, area }, j) => {
      if (rle.size[0] !== imH || rle.size[1] !== imW) {
        throw new RangeError(`upscaler mask ${j} is ${rle.size[0]}×${rle.size[1]}, expected ${imH}×${imW}`);
      }
      if (typeof rle.counts !== 'string' || !(area >= 0 && area <= imH * imW)) {
        throw new RangeError(`upscaler mask ${j} is not a compressed RLE with its area`);
      }
      return { counts: rle.counts, area };
    });
  }
  const frame = { imH, imW, offX: crop[0], offY: crop[1] };
  return keep.map((i) => {
    const c = inCrop[i]!;
    const r = up.rleCounts(c.plane, 0, options.maskThreshold, c.box, frame);
    return { counts: countsToString(r.counts), area: r.area };
  });
}

/**
 * Generates masks for a whole imH×imW image. `options` must be resolved (see parseAmgOptions). Honours
 * `signal` between decoder calls (throws its reason).
 *
 * Stats: `candidates` counts 3 mask outputs per prompt whatever the backend returns. With a prefiltering
 * backend ({@link AmgSurvivors}), `afterIou` and `afterStability` count what passes the generator's own
 * re-check; candidates the prefilter already dropped are not split by reason.
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
    const cx: CropContext = { up: new MaskUpscaler(ch, cw), crop, origBox, options, stats };
    const grid = grids[layer]!;
    const nPoints = grid.length / 2;
    const inCrop: Pending[] = [];
    for (let p0 = 0; p0 < nPoints; p0 += batch) {
      checkAbort(hooks.signal);
      const n = Math.min(batch, nPoints - p0);
      const pts = new Float64Array(n * 2);
      // SAM scales the unit grid by the crop size (points_scale = cropped_im_size[::-1]).
      for (let k = 0; k < n; k++) {
        pts[2 * k] = grid[2 * (p0 + k)]! * cw;
        pts[2 * k + 1] = grid[2 * (p0 + k) + 1]! * ch;
      }
      const point = (k: number): [number, number] => [pts[2 * k]! + cx0, pts[2 * k + 1]! + cy0];
      const t0 = now();
      const out = await backend.decode(pts);
      const t1 = now();
      stats.decodeCalls++;
      stats.decodeMs += t1 - t0;
      // multimask_output=True: SAM keeps outputs 1..3 and drops the single-mask output 0.
      stats.candidates += n * 3;
      if ('kind' in out) {
        for (const j of survivorOrder(out, n)) {
          const c = checkCandidate(out.lowRes, j * MAP, out.iou[j]!, point(out.prompt[j]!), cx);
          if (c) inCrop.push(c);
        }
      } else {
        if (out.iou.length < n * 4 || out.lowRes.length < n * 4 * MAP) {
          throw new RangeError(`decoder returned ${out.iou.length / 4} results for ${n} prompts`);
        }
        for (let k = 0; k < n; k++) {
          for (let m = 1; m < 4; m++) {
            const c = checkCandidate(out.lowRes, (k * 4 + m) * MAP, out.iou[k * 4 + m]!, point(k), cx);
            if (c) inCrop.push(c);
          }
        }
      }
      stats.postMs += now() - t1;
      pointsDone += n;
      hooks.onProgress?.({ crop: ci, crops: crops.length, pointsDone, points: totalPoints });
    }
    const t2 = now();
    // NMS within the crop, on boxes in the crop's coordinates, scored by predicted IoU; NMS needs only boxes
    // and scores, so only the masks it keeps are upscaled to full resolution.
    const keep = nms(
      inCrop.map((c) => c.box),
      inCrop.map((c) => c.iou),
      options.boxNmsThresh,
    );
    stats.afterNms += keep.length;
    const rles = await rleOfKept(inCrop, keep, backend, cx, imH, imW);
    keep.forEach((i, j) => {
      const c = inCrop[i]!;
      all.push({
        counts: rles[j]!.counts,
        area: rles[j]!.area,
        box: [c.box[0] + cx0, c.box[1] + cy0, c.box[2] + cx0, c.box[3] + cy0],
        iou: c.iou,
        stability: c.stability,
        point: c.point,
        crop,
      });
    });
    stats.postMs += now() - t2;
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
