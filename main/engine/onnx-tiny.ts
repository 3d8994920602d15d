// Writes minimal ONNX models (Identity nodes) as protobuf bytes, with no ONNX tooling: used to probe an
// execution provider cheaply and by tests that need a valid ONNX file that is not SAM.

export interface TinyTensor {
  name: string;
  /** Numbers are fixed dimensions, strings symbolic ones. */
  dims: (number | string)[];
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const tag = (field: number, wire: number): number[] => varint((field << 3) | wire);
const vint = (field: number, v: number): number[] => [...tag(field, 0), ...varint(v)];
const bytesField = (field: number, b: number[]): number[] => [...tag(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string): number[] => bytesField(field, [...new TextEncoder().encode(s)]);

function valueInfo(t: TinyTensor): number[] {
  const dims = t.dims.flatMap((d) => bytesField(1, typeof d === 'number' ? vint(1, d) : str(2, d)));
  const tensorType = [...vint(1, 1 /* FLOAT */), ...bytesField(2, dims)];
  return [...str(1, t.name), ...bytesField(2, bytesField(1, tensorType))];
}

/**
 * An ONNX model (IR 8, opset 13) whose k-th output is Identity of its k-th input (float32). Inputs beyond
 * the outputs' count are declared but unused.
 */
export function tinyIdentityOnnx(inputs: TinyTensor[], outputs: TinyTensor[]): Uint8Array {
  if (outputs.length > inputs.length) throw new RangeError('each output needs an input to copy');
  const nodes = outputs.flatMap((o, k) =>
    bytesField(1, [
      ...str(1, inputs[k]!.name),
      ...str(2, o.name),
      ...str(3, `identity_${k}`),
      ...str(4, 'Identity'),
    ]),
  );
  const graph = [
    ...nodes,
    ...str(2, 'tiny'),
    ...inputs.flatMap((i) => bytesField(11, valueInfo(i))),
    ...outputs.flatMap((o) => bytesField(12, valueInfo(o))),
  ];
  const model = [
    ...vint(1, 8),
    ...str(2, 'maskroom'),
    ...bytesField(7, graph),
    ...bytesField(8, [...str(1, ''), ...vint(2, 13)]),
  ];
  return Uint8Array.from(model);
}

/** An int64 initializer (TensorProto: dims 1, data_type 2 = INT64 (7), int64_data 7, name 8). */
function int64Initializer(name: string, values: number[]): number[] {
  return [...vint(1, values.length), ...vint(2, 7), ...values.flatMap((v) => vint(7, v)), ...str(8, name)];
}

/**
 * Adds graph inputs, and outputs filled with zeros (ConstantOfShape), to an existing ONNX model by appending
 * a second GraphProto: protobuf merges repeated occurrences of a message field, so the model's own bytes
 * are untouched. Used by tests to make SAM 2.1-shaped models (extra high-res feature tensors) from the
 * SAM fixture.
 */
export function extendOnnxGraph(
  model: Uint8Array,
  add: { inputs?: TinyTensor[]; zeroOutputs?: TinyTensor[] },
): Uint8Array {
  const parts: number[] = [];
  for (const [k, o] of (add.zeroOutputs ?? []).entries()) {
    const shapeName = `maskroom_zero_shape_${k}`;
    const dims = o.dims.map((d) => {
      if (typeof d !== 'number') throw new RangeError('zero outputs need fixed dimensions');
      return d;
    });
    parts.push(...bytesField(5, int64Initializer(shapeName, dims)));
    parts.push(
      ...bytesField(1, [
        ...str(1, shapeName),
        ...str(2, o.name),
        ...str(3, `zeros_${k}`),
        ...str(4, 'ConstantOfShape'),
      ]),
    );
    parts.push(...bytesField(12, valueInfo(o)));
  }
  for (const i of add.inputs ?? []) parts.push(...bytesField(11, valueInfo(i)));
  const suffix = Uint8Array.from(bytesField(7, parts));
  const out = new Uint8Array(model.length + suffix.length);
  out.set(model);
  out.set(suffix, model.length);
  return out;
}
