// Small ONNX graphs the engine writes itself (no Python, no ONNX tooling at run time), for the GPU fast path:
// the work that would otherwise move hundreds of MB between GPU and JS runs next to the model instead.
//   - AMG prefilter, appended to the batched decoder: SAM's predicted-IoU and stability filters on the GPU, so
//     only survivors' logits cross to the CPU (not B × 4 × 256² floats).
//   - Mask post-processing (SAM's postprocess_masks + threshold), appended to the batched decoder or
//     standalone: only where the column-major RLE runs start crosses, not K × H × W floats.
//   - Preprocessing: 8-bit RGB → resize → normalize → pad, so the CPU does no per-pixel work.
// Appending works on any SAM ONNX decoder (ours, the official export, third-party ones): protobuf merges a
// repeated occurrence of ModelProto.graph into the first, so a second GraphProto holding only the new nodes,
// inputs and outputs is concatenated to the model's own bytes, which are never parsed or rewritten.
import { RleError, summarizeRunStarts, type RleSummary } from '../../common/rle/index.js';
import { f32Field, lenField, str, vint, withoutGraphInputs } from './onnx-rewrite.js';

/** ONNX TensorProto element types the graphs use. */
export type ElemType = 'float' | 'uint8' | 'int32' | 'int64' | 'bool';
const ELEM: Record<ElemType, number> = { float: 1, uint8: 2, int32: 6, int64: 7, bool: 9 };

/** A graph input or output: numbers are fixed dimensions, strings symbolic ones. */
export interface ValueSpec {
  name: string;
  type: ElemType;
  dims: (number | string)[];
}

type Attr = number | string | number[] | { float: number };

// ---------------------------------------------------------------------------------------------- protobuf

function valueInfo(v: ValueSpec): number[] {
  const dims = v.dims.flatMap((d) => lenField(1, typeof d === 'number' ? vint(1, d) : str(2, d)));
  const tensorType = [...vint(1, ELEM[v.type]), ...lenField(2, dims)];
  return [...str(1, v.name), ...lenField(2, lenField(1, tensorType))];
}

function attribute(name: string, a: Attr): number[] {
  // AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7).
  if (typeof a === 'number') return [...str(1, name), ...vint(3, a), ...vint(20, 2)];
  if (typeof a === 'string') return [...str(1, name), ...str(4, a), ...vint(20, 3)];
  if (Array.isArray(a)) return [...str(1, name), ...a.flatMap((x) => vint(8, x)), ...vint(20, 7)];
  return [...str(1, name), ...f32Field(2, a.float), ...vint(20, 1)];
}

// ----------------------------------------------------------------------------------------------- builder

/** Collects nodes, constants and interface of a graph fragment; names are prefixed to avoid collisions. */
export class GraphBuilder {
  private readonly nodes: number[][] = [];
  private readonly inits: number[][] = [];
  private readonly ins: ValueSpec[] = [];
  private readonly outs: ValueSpec[] = [];
  private n = 0;

  constructor(private readonly prefix: string) {}

  private fresh(hint: string): string {
    return `${this.prefix}${hint}_${this.n++}`;
  }

  input(name: string, type: ElemType, dims: (number | string)[]): string {
    this.ins.push({ name, type, dims });
    return name;
  }

  /** Declares `from` as a graph output named `name` (through an Identity when the names differ). */
  output(from: string, name: string, type: ElemType, dims: (number | string)[]): void {
    if (from !== name) this.op('Identity', [from], {}, name);
    this.outs.push({ name, type, dims });
  }

  private constant(type: ElemType, raw: Uint8Array, dims: number[]): string {
    const name = this.fresh('c');
    this.inits.push([
      ...dims.flatMap((d) => vint(1, d)),
      ...vint(2, ELEM[type]),
      ...str(8, name),
      ...lenField(9, raw),
    ]);
    return name;
  }

  /** An int64 constant; `dims` [] makes a scalar. */
  i64(values: number[], dims: number[] = [values.length]): string {
    return this.constant(
      'int64',
      new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer),
      dims,
    );
  }

  f32(values: number[], dims: number[] = [values.length]): string {
    return this.constant('float', new Uint8Array(Float32Array.from(values).buffer), dims);
  }

  bool(values: boolean[], dims: number[] = [values.length]): string {
    return this.constant(
      'bool',
      Uint8Array.from(values, (v) => (v ? 1 : 0)),
      dims,
    );
  }

  /** Adds one node; returns its (single) output name. Input '' marks an omitted optional input. */
  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, out?: string): string {
    const o = out ?? this.fresh(type.toLowerCase());
    this.nodes.push([
      ...inputs.flatMap((i) => str(1, i)),
      ...str(2, o),
      ...str(3, this.fresh(`n_${type}`)),
      ...str(4, type),
      ...Object.entries(attrs).flatMap(([k, v]) => lenField(5, attribute(k, v))),
    ]);
    return o;
  }

  /** The GraphProto bytes of this fragment. */
  graphBytes(name?: string): number[] {
    return [
      ...this.nodes.flatMap((n) => lenField(1, n)),
      ...(name ? str(2, name) : []),
      ...this.inits.flatMap((t) => lenField(5, t)),
      ...this.ins.flatMap((v) => lenField(11, valueInfo(v))),
      ...this.outs.flatMap((v) => lenField(12, valueInfo(v))),
    ];
  }

  /** A complete model holding only this fragment (IR 8, default-domain opset `opset`). */
  toModel(opset: number): Uint8Array {
    return Uint8Array.from([
      ...vint(1, 8),
      ...str(2, 'maskroom'),
      ...lenField(7, this.graphBytes('maskroom')),
      ...lenField(8, [...str(1, ''), ...vint(2, opset)]),
    ]);
  }

  /** `model` with this fragment merged into its graph (the model's bytes are kept as they are). */
  /** This fragment as a ModelProto graph field: appended to a model's bytes, protobuf merges it in. */
  graphField(): Uint8Array {
    return Uint8Array.from(lenField(7, this.graphBytes()));
  }

  appendTo(model: Uint8Array): Uint8Array {
    const suffix = this.graphField();
    const out = new Uint8Array(model.length + suffix.length);
    out.set(model);
    out.set(suffix, model.length);
    return out;
  }
}

/** Lowest default-domain opset the fragments are written for (Unsqueeze/ReduceSum take axes as inputs). */
export const MIN_OPSET = 13;
const INT64_MAX = Number.MAX_SAFE_INTEGER; // Slice clamps ends to the dimension; any larger value works.

// --------------------------------------------------------------------------------------------- fragments

/** Names of the AMG prefilter's extra inputs and outputs. */
export const AMG = {
  thresholds: 'maskroom_amg_thresholds',
  region: 'maskroom_amg_region',
  index: 'maskroom_amg_index',
  iou: 'maskroom_amg_iou',
  stability: 'maskroom_amg_stability',
  lowRes: 'maskroom_amg_low_res',
} as const;

// Symbolic size of the survivors. Unique on purpose: onnxruntime plans buffers as if equal dim_params were
// equal sizes, and decoder_amg.onnx's own outputs already use "K" for its prompt count.
const SURVIVORS = 'maskroom_survivors';

/** decoder_amg.onnx's interface (manifest files.decoderAmg; docs/gpu.md) beyond decoder_batched's. */
export const AMG_DECODER = { threshold: 'iou_threshold', promptIndex: 'prompt_index' } as const;

/**
 * SAM's AMG filters on the decoder's outputs `lowRes` [B,4,256,256] / `iou` [B,4]: keeps mask outputs 1..3
 * with iou > thresholds[0] and stability ≥ thresholds[1], stability being the IoU of the masks thresholded at
 * thresholds[2] ± thresholds[3] over the valid region rows × cols (`region` [2]), exactly as common/amg
 * computes it (an empty loose mask scores 0). Outputs the survivors: index [K,2] int32 (prompt, mask), iou,
 * stability [K] and their full 256² logit planes [K,256,256].
 *
 * With `amgDecoder` the fragment sits on decoder_amg.onnx instead: it feeds thresholds[0] to the decoder's
 * iou_threshold input (removed from the graph inputs by the caller), and `lowRes` holds only the rows of the
 * prompts listed in prompt_index, which map the survivors back to prompt numbers.
 */
export function addAmgPrefilter(g: GraphBuilder, lowRes: string, iou: string, amgDecoder = false): void {
  const th = g.input(AMG.thresholds, 'float', [4]);
  const region = g.input(AMG.region, 'int64', [2]);
  const at = (k: number): string => g.op('Slice', [th, g.i64([k]), g.i64([k + 1])]);
  const [tIou, tStab, tMask, off] = [at(0), at(1), at(2), at(3)];
  if (amgDecoder) g.op('Identity', [tIou], {}, AMG_DECODER.threshold);
  const rows = AMG_DECODER.promptIndex;
  const rowIou = amgDecoder ? g.op('Gather', [iou, rows], { axis: 0 }) : iou;
  const crop = g.op('Slice', [lowRes, g.i64([0, 0]), region, g.i64([2, 3])]);
  const count = (thr: string): string =>
    g.op('ReduceSum', [g.op('Cast', [g.op('Greater', [crop, thr])], { to: ELEM.float }), g.i64([2, 3])], {
      keepdims: 0,
    });
  const hi = count(g.op('Add', [tMask, off]));
  const lo = count(g.op('Sub', [tMask, off]));
  const stab = g.op('Div', [hi, g.op('Max', [lo, g.f32([1])])]);
  const keep = g.op('And', [
    g.op('And', [g.op('Greater', [rowIou, tIou]), g.op('GreaterOrEqual', [stab, tStab])]),
    g.bool([false, true, true, true], [1, 4]), // output 0 is the single-mask output; AMG uses 1..3
  ]);
  const idx = g.op('Transpose', [g.op('NonZero', [keep])], { perm: [1, 0] });
  const col = (k: number): string => g.op('Slice', [idx, g.i64([k]), g.i64([k + 1]), g.i64([1])]);
  const index = amgDecoder
    ? g.op('Concat', [g.op('Gather', [rows, col(0)], { axis: 0 }), col(1)], { axis: 1 })
    : idx;
  g.output(g.op('Cast', [index], { to: ELEM.int32 }), AMG.index, 'int32', [SURVIVORS, 2]);
  g.output(g.op('GatherND', [rowIou, idx]), AMG.iou, 'float', [SURVIVORS]);
  g.output(g.op('GatherND', [stab, idx]), AMG.stability, 'float', [SURVIVORS]);
  g.output(g.op('GatherND', [lowRes, idx]), AMG.lowRes, 'float', [SURVIVORS, 256, 256]);
}

/** Names of the post-processing graph's inputs and outputs. */
export const POST = {
  lowRes: 'maskroom_pp_low_res_in',
  sizes: 'maskroom_pp_sizes',
  threshold: 'maskroom_pp_threshold',
  multimask: 'maskroom_pp_multimask',
  index: 'maskroom_pp_index',
  score: 'maskroom_pp_score',
  chosen: 'maskroom_pp_low_res',
  first: 'maskroom_pp_first',
  runs: 'maskroom_pp_runs',
  changes: 'maskroom_pp_changes',
  flips: 'maskroom_pp_flips',
} as const;

/**
 * SAM's mask choice on the decoder's outputs: per prompt, the best of outputs 1..3 by predicted IoU (first
 * on ties) where `multimask` [B] is true, else output 0 (engine/postprocess.ts chooseMask). Outputs the index
 * [B] int32, its score [B] and the chosen plane; returns the plane's name ([B,256,256]).
 */
export function addMaskChoice(g: GraphBuilder, lowRes: string, iou: string): string {
  const mm = g.input(POST.multimask, 'bool', ['B']);
  const best = g.op('ArgMax', [g.op('Slice', [iou, g.i64([1]), g.i64([4]), g.i64([1])])], {
    axis: 1,
    keepdims: 0,
  });
  const sel = g.op('Where', [mm, g.op('Add', [best, g.i64([1], [])]), g.i64([0], [])]);
  const b = g.op('Squeeze', [g.op('Slice', [g.op('Shape', [iou]), g.i64([0]), g.i64([1])]), g.i64([0])]);
  const rows = g.op('Range', [g.i64([0], []), b, g.i64([1], [])]);
  const col = (x: string): string => g.op('Unsqueeze', [x, g.i64([1])]);
  const idx = g.op('Concat', [col(rows), col(sel)], { axis: 1 });
  g.output(g.op('Cast', [sel], { to: ELEM.int32 }), POST.index, 'int32', ['B']);
  g.output(g.op('GatherND', [iou, idx]), POST.score, 'float', ['B']);
  const plane = g.op('GatherND', [lowRes, idx]);
  g.output(plane, POST.chosen, 'float', ['B', 256, 256]);
  return plane;
}

/**
 * addMaskChoice without GatherND and ArgMax, in Slice / Greater / Max / Equal / Where only, for a graph that
 * onnxruntime captures: its CUDA GatherND stages the slice strides through a host vector with an async copy,
 * and a captured copy keeps reading that address on every replay, long after the vector is gone (fixed
 * upstream in onnxruntime PR 32120, not in the 1.29 build we ship; run 19 crashed with an illegal memory
 * access on the capture's first launch). Selection, not arithmetic: for finite IoU predictions the index is
 * ArgMax's, and the score and plane are the chosen ones bit for bit (−0 and NaN logits included).
 */
function addMaskChoiceSelect(g: GraphBuilder, lowRes: string, iou: string): string {
  const mm = g.input(POST.multimask, 'bool', ['B']);
  const slot = (t: string, k: number): string => g.op('Slice', [t, g.i64([k]), g.i64([k + 1]), g.i64([1])]);
  const [i0, i1, i2, i3] = [0, 1, 2, 3].map((k) => slot(iou, k)); // [B,1] each
  // The best of outputs 1..3, the first on ties (ArgMax's rule).
  const best12 = g.op('Where', [g.op('Greater', [i2!, i1!]), g.i64([2], []), g.i64([1], [])]);
  const v12 = g.op('Max', [i1!, i2!]);
  const best = g.op('Where', [g.op('Greater', [i3!, v12]), g.i64([3], []), best12]);
  const sel = g.op('Where', [g.op('Unsqueeze', [mm, g.i64([1])]), best, g.i64([0], [])]); // [B,1]
  g.output(g.op('Cast', [g.op('Squeeze', [sel, g.i64([1])])], { to: ELEM.int32 }), POST.index, 'int32', [
    'B',
  ]);
  const pick = (cands: string[], at: string): string =>
    g.op('Where', [
      g.op('Equal', [at, g.i64([1], [])]),
      cands[1]!,
      g.op('Where', [
        g.op('Equal', [at, g.i64([2], [])]),
        cands[2]!,
        g.op('Where', [g.op('Equal', [at, g.i64([3], [])]), cands[3]!, cands[0]!]),
      ]),
    ]);
  g.output(g.op('Squeeze', [pick([i0!, i1!, i2!, i3!], sel), g.i64([1])]), POST.score, 'float', ['B']);
  const sel4 = g.op('Unsqueeze', [sel, g.i64([2, 3])]); // [B,1,1,1]
  const planes = [0, 1, 2, 3].map((k) => slot(lowRes, k)); // [B,1,256,256] each
  const plane = g.op('Squeeze', [pick(planes, sel4), g.i64([1])]);
  g.output(plane, POST.chosen, 'float', ['B', 256, 256]);
  return plane;
}

/**
 * The batched decoder with SAM's mask choice appended in its capturable form (addMaskChoiceSelect): input
 * POST.multimask [B] besides the decoder's, outputs POST.index, POST.score and POST.chosen [B,256,256], so that
 * only the chosen planes leave the device (the host post-processing, MASKROOM_ORTX_POST=host: 8 MB instead of
 * 32 for 32 prompts). The decoder's bytes are not parsed (GraphBuilder.appendTo).
 */
export function decoderWithChoice(batched: Uint8Array): Uint8Array {
  const g = new GraphBuilder('maskroom_hc_');
  addMaskChoiceSelect(g, 'low_res_masks', 'iou_predictions');
  return g.appendTo(batched);
}

/**
 * SAM's postprocess_masks on `planes` [K,256,256]: bilinear (PyTorch, align_corners=False) to
 * inputSize², crop to sizes[0] × sizes[1] (the resized image), bilinear to sizes[2] × sizes[3] (the original),
 * `> threshold`. Read column-major (COCO RLE order), it outputs each mask's first pixel `first` [K,1] uint8,
 * its number of changes `runs` [K] int32 and `changes` [M] int32: every i where pixel i+1 differs from pixel
 * i, mask after mask, ascending within each (NonZero's order). The mask index of each change is not sent
 * (`runs` says where each mask's share ends), which halves what crosses to the CPU; masksFromChanges turns
 * the three into COCO RLE, area and box in one pass.
 */
export function addPostprocess(g: GraphBuilder, planes: string, inputSize: number): void {
  addChanges(g, addFlips(g, planes, inputSize, g.input(POST.sizes, 'int64', [4])));
}

/**
 * addPostprocess up to NonZero, the only step whose output size depends on the data: outputs `first` and
 * `runs`, returns the name of the change flags [K, h·w] (bool, column-major; a trailing all-false column).
 * `sizes`: an int64 [4] tensor, a graph input or, for one image size, a constant (choiceFlipsModel).
 */
function addFlips(g: GraphBuilder, planes: string, inputSize: number, sizes: string): string {
  const thr = g.input(POST.threshold, 'float', [1]);
  const x = g.op('Unsqueeze', [planes, g.i64([1])]); // [K,1,256,256]
  const k1 = g.op('Slice', [g.op('Shape', [x]), g.i64([0]), g.i64([2])]);
  const resize = (t: string, hw: string): string =>
    g.op('Resize', [t, '', '', g.op('Concat', [k1, hw], { axis: 0 })], {
      mode: 'linear',
      coordinate_transformation_mode: 'pytorch_half_pixel',
    });
  const up = resize(x, g.i64([inputSize, inputSize]));
  const crop = g.op('Slice', [
    up,
    g.i64([0, 0]),
    g.op('Slice', [sizes, g.i64([0]), g.i64([2])]),
    g.i64([2, 3]),
  ]);
  const full = resize(crop, g.op('Slice', [sizes, g.i64([2]), g.i64([4])]));
  const bin = g.op('Greater', [full, thr]); // [K,1,h,w]
  const cols = g.op('Reshape', [g.op('Transpose', [bin], { perm: [0, 1, 3, 2] }), g.i64([0, -1])]);
  const first = g.op('Slice', [cols, g.i64([0]), g.i64([1]), g.i64([1])]);
  g.output(g.op('Cast', [first], { to: ELEM.uint8 }), POST.first, 'uint8', ['K', 1]);
  const next = g.op('Slice', [cols, g.i64([1]), g.i64([INT64_MAX]), g.i64([1])]);
  const prev = g.op('Slice', [cols, g.i64([0]), g.i64([-1]), g.i64([1])]);
  // Xor(next, prev) plus an all-false last column ([K, n]): it changes neither the sum nor what NonZero finds,
  // and keeps the reduced axis non-empty for 1-pixel masks (CUDA's ReduceSum refuses an empty axis).
  const none = g.op('Xor', [first, first]);
  const flips = g.op('Concat', [g.op('Xor', [next, prev]), none], { axis: 1 });
  const runs = g.op('ReduceSum', [g.op('Cast', [flips], { to: ELEM.int32 }), g.i64([1])], { keepdims: 0 });
  g.output(runs, POST.runs, 'int32', ['K']);
  return flips;
}

/** The pixel index of every set change flag, mask after mask: the `changes` output [M] int32. */
function addChanges(g: GraphBuilder, flips: string): void {
  // NonZero gives [2, M] int64 (mask indices, then pixel indices); only row 1 is needed.
  const pixels = g.op('Gather', [g.op('NonZero', [flips]), g.i64([1], [])], { axis: 0 });
  g.output(g.op('Cast', [pixels], { to: ELEM.int32 }), POST.changes, 'int32', ['M']);
}

/** Names of the preprocessing graph's inputs and output. */
export const PRE = { rgb: 'maskroom_rgb', sizes: 'maskroom_resized', image: 'maskroom_image' } as const;

/**
 * SAM's preprocessing of interleaved 8-bit RGB [H,W,3]: bilinear resize to sizes [rows, cols] (identity when
 * equal), (v − mean) / std, zero padding bottom/right to inputSize² → image [1,3,S,S] float.
 */
export function preprocessModel(
  inputSize: number,
  mean: readonly number[],
  std: readonly number[],
  opset: number,
): Uint8Array {
  const g = new GraphBuilder('maskroom_pre_');
  g.output(addPreprocess(g, inputSize, mean, std), PRE.image, 'float', [1, 3, inputSize, inputSize]);
  return g.toModel(Math.max(opset, MIN_OPSET));
}

/**
 * The encoder with preprocessing in front: inputs PRE.rgb / PRE.sizes replace its image input, so the
 * normalized 1024² float image (12 MB) never crosses between host and device.
 */
export function encoderWithPreprocess(
  encoder: Uint8Array,
  imageInput: string,
  inputSize: number,
  mean: readonly number[],
  std: readonly number[],
): Uint8Array {
  const g = new GraphBuilder('maskroom_pre_');
  g.op('Identity', [addPreprocess(g, inputSize, mean, std)], {}, imageInput);
  return withoutGraphInputs(encoder, [imageInput], g.graphField());
}

/** 8-bit RGB [H,W,3] → resized to PRE.sizes, normalized, zero-padded [1,3,S,S] float; returns its name. */
function addPreprocess(
  g: GraphBuilder,
  inputSize: number,
  mean: readonly number[],
  std: readonly number[],
): string {
  const rgb = g.input(PRE.rgb, 'uint8', ['H', 'W', 3]);
  const sizes = g.input(PRE.sizes, 'int64', [2]);
  const chw = g.op('Transpose', [g.op('Cast', [rgb], { to: ELEM.float })], { perm: [2, 0, 1] });
  const x = g.op('Unsqueeze', [chw, g.i64([0])]);
  const r = g.op('Resize', [x, '', '', g.op('Concat', [g.i64([1, 3]), sizes], { axis: 0 })], {
    mode: 'linear',
    coordinate_transformation_mode: 'pytorch_half_pixel',
  });
  const n = g.op('Div', [g.op('Sub', [r, g.f32([...mean], [1, 3, 1, 1])]), g.f32([...std], [1, 3, 1, 1])]);
  const pads = g.op(
    'Concat',
    [g.i64([0, 0, 0, 0, 0, 0]), g.op('Sub', [g.i64([inputSize, inputSize]), sizes])],
    {
      axis: 0,
    },
  );
  return g.op('Pad', [n, pads, g.f32([0], [])], { mode: 'constant' });
}

/**
 * SAM's mask choice and the post-processing as a model of their own: the batched decoder's
 * `low_res_masks` [B,4,256,256] and `iou_predictions` [B,4] in (by those names, so a device-resident decoder
 * output feeds it as it is), POST.multimask / sizes / threshold as in addMaskChoice and addPostprocess; out
 * the chosen mask's index, score, plane and its RLE run starts. Used where the decoder runs as a captured
 * CUDA graph (graphrun.ts): a capture needs fixed shapes, and these outputs have data-dependent ones.
 */
export function choicePostprocessModel(inputSize: number, opset: number): Uint8Array {
  const g = new GraphBuilder('maskroom_cp_');
  const lowRes = g.input('low_res_masks', 'float', ['B', 4, 256, 256]);
  const iou = g.input('iou_predictions', 'float', ['B', 4]);
  addPostprocess(g, addMaskChoice(g, lowRes, iou), inputSize);
  return g.toModel(Math.max(opset, MIN_OPSET));
}

/**
 * choicePostprocessModel for one image size, without NonZero: the sizes are constants and, with the prompt
 * count fixed at load, every shape is static, so onnxruntime can capture it as a CUDA graph (postgraphs.ts);
 * the mask choice avoids the ops whose CUDA kernels cannot be replayed (addMaskChoiceSelect). Outputs as
 * choicePostprocessModel's but `changes`, and the change flags POST.flips [B, h·w] bool, which changesModel
 * turns into `changes`.
 */
export function choiceFlipsModel(
  inputSize: number,
  sizes: readonly [number, number, number, number],
  opset: number,
): Uint8Array {
  if (!sizes.every((v) => Number.isInteger(v) && v >= 1))
    throw new RangeError(`image sizes must be positive integers, got ${sizes.join(', ')}`);
  const g = new GraphBuilder('maskroom_cf_');
  const lowRes = g.input('low_res_masks', 'float', ['B', 4, 256, 256]);
  const iou = g.input('iou_predictions', 'float', ['B', 4]);
  const flips = addFlips(g, addMaskChoiceSelect(g, lowRes, iou), inputSize, g.i64([...sizes]));
  g.output(flips, POST.flips, 'bool', ['B', sizes[2] * sizes[3]]);
  return g.toModel(Math.max(opset, MIN_OPSET));
}

/** NonZero on choiceFlipsModel's change flags: POST.flips [K, N] bool in, `changes` [M] int32 out. */
export function changesModel(opset: number): Uint8Array {
  const g = new GraphBuilder('maskroom_ch_');
  addChanges(g, g.input(POST.flips, 'bool', ['K', 'N']));
  return g.toModel(Math.max(opset, MIN_OPSET));
}

/** A standalone post-processing model: planes [K,256,256] in, `first` / `runs` / `changes` out. */
export function postprocessModel(inputSize: number, opset: number): Uint8Array {
  const g = new GraphBuilder('maskroom_pp_');
  const planes = g.input(POST.lowRes, 'float', ['K', 256, 256]);
  addPostprocess(g, planes, inputSize);
  return g.toModel(Math.max(opset, MIN_OPSET));
}

/**
 * Each of the `first.length` height × width masks of the post-processing outputs as compressed COCO RLE, area
 * and box (common/rle summarizeRunStarts: one pass, no counts arrays). `runs[k]` of the `changes` belong to
 * mask k, in order. Throws RangeError when the shares do not add up to the changes, or when a mask's changes
 * do not ascend inside its pixels: outputs of some other graph, not of addPostprocess.
 */
export function masksFromChanges(
  first: ArrayLike<number>,
  runs: Int32Array,
  changes: Int32Array,
  height: number,
  width: number,
): RleSummary[] {
  const k = first.length;
  if (runs.length !== k)
    throw new RangeError(`post-processing gave ${runs.length} run counts for ${k} masks`);
  let total = 0;
  for (let mask = 0; mask < k; mask++) {
    if (runs[mask]! < 0) throw new RangeError(`post-processing gave mask ${mask} ${runs[mask]} changes`);
    total += runs[mask]!;
  }
  if (total !== changes.length) {
    throw new RangeError(`post-processing changes: masks account for ${total}, got ${changes.length}`);
  }
  const out: RleSummary[] = new Array<RleSummary>(k);
  let j = 0;
  for (let mask = 0; mask < k; mask++) {
    const end = j + runs[mask]!;
    try {
      // A change at i means a run starts at i + 1.
      out[mask] = summarizeRunStarts(changes.subarray(j, end), first[mask] !== 0, height, width, 1);
    } catch (err) {
      if (err instanceof RleError) {
        throw new RangeError(`post-processing mask ${mask}: ${err.message}`, { cause: err });
      }
      throw err;
    }
    j = end;
  }
  return out;
}
