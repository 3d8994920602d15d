// Recognizes SAM's ONNX interfaces from a session's input/output metadata, so a wrong file fails at load
// time with the name of the input or output that does not fit, instead of deep inside a later run.
import { EngineError } from './errors.js';
import type { DecoderFormat } from './manifest.js';

/** What onnxruntime reports for one input or output (`session.inputMetadata[i]`). */
export interface TensorMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  /** Numbers for fixed dimensions, strings for symbolic ones. */
  shape?: readonly (number | string)[];
}

export interface EncoderSignature {
  inputName: string;
  outputName: string;
  /** Names of the extra (high-res feature) outputs, in manifest order. */
  extraOutputs: string[];
}

/** An extra tensor passed from encoder to decoder (manifest `highResFeatures`). */
export interface ExtraTensor {
  name: string;
  shape: readonly number[];
}

export interface DecoderSignature {
  format: DecoderFormat;
  /** Masks per prompt: 4 (single-output mask 0 + 3 multimask outputs) or 1 (single-mask export). */
  masksPerPrompt: number;
}

type Dim = number | string;
const fixed = (d: Dim | undefined): d is number => typeof d === 'number' && d > 0;

function mismatch(file: string, what: string, reason: string): EngineError {
  return new EngineError('model_mismatch', `${file}: ${what} ${reason}`, { file, what });
}

/** Checks a tensor's rank and every fixed expected dimension (symbolic dims on either side match anything). */
function checkShape(
  file: string,
  kind: 'input' | 'output',
  meta: TensorMeta,
  expected: (number | null)[],
): void {
  if (!meta.isTensor || (meta.type !== undefined && meta.type !== 'float32')) {
    throw mismatch(
      file,
      `${kind} "${meta.name}"`,
      `must be a float32 tensor (is ${meta.type ?? 'not a tensor'})`,
    );
  }
  const shape = meta.shape;
  if (!shape) return;
  if (shape.length !== expected.length) {
    throw mismatch(
      file,
      `${kind} "${meta.name}"`,
      `has rank ${shape.length} [${shape.join(',')}], expected ${expected.length}`,
    );
  }
  expected.forEach((e, i) => {
    const d = shape[i];
    if (e !== null && fixed(d) && d !== e) {
      throw mismatch(
        file,
        `${kind} "${meta.name}"`,
        `dimension ${i} is ${d}, expected ${e} (shape [${shape.join(',')}])`,
      );
    }
  });
}

function byName(list: readonly TensorMeta[]): Map<string, TensorMeta> {
  return new Map(list.map((m) => [m.name, m]));
}

/** Checks an image encoder: one image input [1,3,S,S] and an embedding output of the manifest's shape. */
export function checkEncoder(
  file: string,
  inputs: readonly TensorMeta[],
  outputs: readonly TensorMeta[],
  inputSize: number,
  embeddingShape: readonly number[],
  extras: readonly ExtraTensor[] = [],
): EncoderSignature {
  if (inputs.length !== 1) {
    throw mismatch(
      file,
      'inputs',
      `must be exactly one image tensor, found ${inputs.map((i) => i.name).join(', ') || 'none'}`,
    );
  }
  const input = inputs[0]!;
  checkShape(file, 'input', input, [1, 3, inputSize, inputSize]);
  const output = outputs.find((o) => o.name === 'image_embeddings') ?? outputs[0];
  if (!output) throw mismatch(file, 'outputs', 'are empty');
  checkShape(file, 'output', output, [...embeddingShape]);
  for (const x of extras) {
    const o = outputs.find((m) => m.name === x.name);
    if (!o) throw mismatch(file, `output "${x.name}"`, 'is missing (manifest highResFeatures lists it)');
    checkShape(file, 'output', o, [...x.shape]);
  }
  return { inputName: input.name, outputName: output.name, extraOutputs: extras.map((x) => x.name) };
}

/**
 * Recognizes a prompt decoder: SAM's official `SamOnnxModel` export ("sam-onnx": batch 1 with `orig_im_size`)
 * or our batched export ("sam-onnx-batched": B prompt sets, low-res masks only). Throws `model_mismatch`
 * naming the first input or output that does not fit `expected`.
 */
export function checkDecoder(
  file: string,
  inputs: readonly TensorMeta[],
  outputs: readonly TensorMeta[],
  expected: DecoderFormat,
  embeddingShape: readonly number[],
  extras: readonly ExtraTensor[] = [],
): DecoderSignature {
  const ins = byName(inputs);
  const outs = byName(outputs);
  const needIn = (name: string): TensorMeta => {
    const m = ins.get(name);
    if (!m) {
      throw mismatch(
        file,
        `input "${name}"`,
        `is missing (has: ${[...ins.keys()].join(', ') || 'none'}); not a ${expected} SAM decoder`,
      );
    }
    return m;
  };
  const needOut = (name: string): TensorMeta => {
    const m = outs.get(name);
    if (!m) {
      throw mismatch(
        file,
        `output "${name}"`,
        `is missing (has: ${[...outs.keys()].join(', ') || 'none'}); not a ${expected} SAM decoder`,
      );
    }
    return m;
  };
  const batch = expected === 'sam-onnx' ? 1 : null;
  checkShape(file, 'input', needIn('image_embeddings'), [...embeddingShape]);
  checkShape(file, 'input', needIn('point_coords'), [batch, null, 2]);
  checkShape(file, 'input', needIn('point_labels'), [batch, null]);
  checkShape(file, 'input', needIn('mask_input'), [batch, 1, 256, 256]);
  checkShape(file, 'input', needIn('has_mask_input'), [batch]);
  const iou = needOut('iou_predictions');
  const low = needOut('low_res_masks');
  checkShape(file, 'output', low, [batch, null, 256, 256]);
  checkShape(file, 'output', iou, [batch, null]);
  if (expected === 'sam-onnx') {
    checkShape(file, 'input', needIn('orig_im_size'), [2]);
    checkShape(file, 'output', needOut('masks'), [1, null, null, null]);
  } else if (ins.has('orig_im_size')) {
    throw mismatch(
      file,
      'input "orig_im_size"',
      'is present: this is an official single-prompt decoder, not sam-onnx-batched',
    );
  }
  for (const x of extras) checkShape(file, 'input', needIn(x.name), [...x.shape]);
  const known = new Set([
    ...extras.map((x) => x.name),
    'image_embeddings',
    'point_coords',
    'point_labels',
    'mask_input',
    'has_mask_input',
    'orig_im_size',
  ]);
  for (const name of ins.keys()) {
    if (!known.has(name)) throw mismatch(file, `input "${name}"`, 'is not a SAM decoder input');
  }
  const m = [iou.shape?.[1], low.shape?.[1]].find(fixed);
  const masksPerPrompt = m ?? 4;
  if (masksPerPrompt !== 1 && masksPerPrompt !== 4) {
    throw mismatch(
      file,
      'output "iou_predictions"',
      `gives ${masksPerPrompt} masks per prompt; expected 1 or 4`,
    );
  }
  return { format: expected, masksPerPrompt };
}
