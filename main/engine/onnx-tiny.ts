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
