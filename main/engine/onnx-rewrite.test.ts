import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addAmgPrefilter, AMG, GraphBuilder } from './graphs.js';
import { fixtureModelDir } from './index.js';
import { hasExternalData, readModelInfo, withoutGraphInputs } from './onnx-rewrite.js';

const batchedBytes = (): Uint8Array =>
  new Uint8Array(readFileSync(path.join(fixtureModelDir(), 'decoder_batched.onnx')));
const encoderBytes = (): Uint8Array =>
  new Uint8Array(readFileSync(path.join(fixtureModelDir(), 'encoder.onnx')));

describe('readModelInfo', () => {
  it("reads the fixture decoder's opset and interface", () => {
    const info = readModelInfo(batchedBytes());
    expect(info.opset).toBe(17);
    expect(info.inputs).toEqual([
      'image_embeddings',
      'point_coords',
      'point_labels',
      'mask_input',
      'has_mask_input',
    ]);
    expect(info.outputs).toEqual(['iou_predictions', 'low_res_masks']);
  });

  it('sees inputs and outputs appended by a fragment', () => {
    const g = new GraphBuilder('t_');
    addAmgPrefilter(g, 'low_res_masks', 'iou_predictions');
    const info = readModelInfo(g.appendTo(batchedBytes()));
    expect(info.inputs).toContain(AMG.thresholds);
    expect(info.outputs).toContain(AMG.lowRes);
    expect(info.outputs).toContain('low_res_masks');
  });
});

describe('withoutGraphInputs', () => {
  it('removes only the named graph input and refuses a name the graph does not have', () => {
    const bytes = encoderBytes();
    const info = readModelInfo(bytes);
    const without = readModelInfo(withoutGraphInputs(bytes, [info.inputs[0]!]));
    expect(without.inputs).toEqual(info.inputs.slice(1));
    expect(without.outputs).toEqual(info.outputs);
    expect(without.opset).toBe(info.opset);
    expect(() => withoutGraphInputs(bytes, ['no_such_input'])).toThrow(/not found: no_such_input/);
  });
});

describe('hasExternalData', () => {
  it('tells models with external weight files apart', () => {
    expect(hasExternalData(encoderBytes())).toBe(false);
    // ModelProto{graph: GraphProto{initializer: TensorProto{name: "w", data_location: EXTERNAL}}}
    const tensor = [0x42, 1, 0x77, 0x70, 1];
    const graph = [0x2a, tensor.length, ...tensor];
    expect(hasExternalData(Uint8Array.from([0x3a, graph.length, ...graph]))).toBe(true);
    tensor[4] = 0; // DEFAULT
    expect(hasExternalData(Uint8Array.from([0x3a, graph.length, ...[0x2a, tensor.length, ...tensor]]))).toBe(
      false,
    );
  });
});
