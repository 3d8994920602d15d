// Prompts in original (displayed) image pixels → SAM decoder inputs in the model's input frame.
import { EngineError } from './errors.js';
import { LOW_RES } from './postprocess.js';
import { toInputFrame, type ImageGeometry } from './preprocess.js';

/** A click: label 1 = the object is here, 0 = it is not. */
export interface PromptPoint {
  x: number;
  y: number;
  label: 0 | 1;
}

/** What the user asked for, in original image pixels as displayed (after EXIF orientation). */
export interface Prompt {
  points?: PromptPoint[];
  /** [x0, y0, x1, y1], corners in any order. */
  box?: [number, number, number, number];
  /** 256×256 low-res logits from a previous MaskResult (`lowRes`), to refine that mask. */
  maskInput?: Float32Array;
}

/** The decoder inputs for one prompt set (batch 1). */
export interface EncodedPrompt {
  /** x,y pairs in the input frame. */
  coords: Float32Array;
  labels: Float32Array;
  maskInput?: Float32Array;
  /** One ambiguous point with no box: SAM returns its multimask outputs. */
  ambiguous: boolean;
}

function bad(message: string): EngineError {
  return new EngineError('bad_prompt', message);
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Validates a prompt and builds the decoder's point list exactly as SAM's predictor does: points, then the
 * box corners (labels 2, 3); without a box one (0,0) padding point with label −1.
 */
export function encodePrompt(prompt: Prompt, g: ImageGeometry): EncodedPrompt {
  if (typeof prompt !== 'object' || prompt === null) throw bad('prompt must be an object');
  const points = prompt.points ?? [];
  if (!Array.isArray(points)) throw bad('prompt.points must be an array');
  if (points.length === 0 && !prompt.box) throw bad('a prompt needs at least one point or a box');
  const coords: number[] = [];
  const labels: number[] = [];
  for (const [i, p] of points.entries()) {
    if (!p || !finite(p.x) || !finite(p.y)) throw bad(`point ${i} needs finite x and y`);
    if (p.label !== 0 && p.label !== 1) throw bad(`point ${i} label must be 1 (positive) or 0 (negative)`);
    coords.push(...toInputFrame(g, p.x, p.y));
    labels.push(p.label);
  }
  if (prompt.box) {
    const b = prompt.box;
    if (!Array.isArray(b) || b.length !== 4 || !b.every(finite))
      throw bad('prompt.box must be [x0, y0, x1, y1] of finite numbers');
    const [x0, x1] = b[0] <= b[2] ? [b[0], b[2]] : [b[2], b[0]];
    const [y0, y1] = b[1] <= b[3] ? [b[1], b[3]] : [b[3], b[1]];
    if (x1 - x0 <= 0 || y1 - y0 <= 0) throw bad('prompt.box is empty');
    coords.push(...toInputFrame(g, x0, y0), ...toInputFrame(g, x1, y1));
    labels.push(2, 3);
  } else {
    coords.push(0, 0);
    labels.push(-1);
  }
  if (prompt.maskInput !== undefined) {
    if (!(prompt.maskInput instanceof Float32Array) || prompt.maskInput.length !== LOW_RES * LOW_RES) {
      throw bad(`prompt.maskInput must be a Float32Array of ${LOW_RES}×${LOW_RES} logits`);
    }
  }
  return {
    coords: Float32Array.from(coords),
    labels: Float32Array.from(labels),
    ...(prompt.maskInput ? { maskInput: prompt.maskInput } : {}),
    ambiguous: points.length === 1 && !prompt.box && !prompt.maskInput,
  };
}
