// Reads and rewrites an existing ONNX model's bytes without ONNX tooling at run time and without parsing or
// re-serialising its weights (hundreds of MB): only the ModelProto's and the GraphProto's top-level fields
// (and a node's own fields) are walked, and every other byte is copied as it is. Protobuf merges a repeated
// top-level record into the first, so a model may hold several graph records (graphs.ts appends one to give
// the model its fragments): the rewrites act on each. The protobuf writers live here as well because both
// the rewrites and graphs.ts's fragments need them; graphs.ts imports this file, never the reverse.

// ---------------------------------------------------------------------------------------------- protobuf

function varint(v: number | bigint): number[] {
  // Negative int64 values are sent as their 64-bit two's complement (10 bytes), as protobuf requires.
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (n > 0x7fn) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}
const tag = (field: number, wire: number): number[] => varint((field << 3) | wire);
export const vint = (field: number, v: number | bigint): number[] => [...tag(field, 0), ...varint(v)];
export const lenField = (field: number, b: ArrayLike<number>): number[] => [
  ...tag(field, 2),
  ...varint(b.length),
  ...Array.from(b),
];
export const str = (field: number, s: string): number[] => lenField(field, new TextEncoder().encode(s));
export function f32Field(field: number, v: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return [...tag(field, 5), ...b];
}

/**
 * Reads the fields of one protobuf message: (field, wire type, payload start or varint value, payload end,
 * offset of the field's tag).
 */
function* fields(
  b: Uint8Array,
  start = 0,
  end = b.length,
): Generator<[number, number, number, number, number]> {
  let p = start;
  const readVarint = (): bigint => {
    let r = 0n;
    let s = 0n;
    for (;;) {
      if (p >= end) throw new RangeError('truncated protobuf');
      const byte = b[p++]!;
      r |= BigInt(byte & 0x7f) << s;
      if (byte < 0x80) return r;
      s += 7n;
    }
  };
  while (p < end) {
    const at = p;
    const key = Number(readVarint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) {
      const v = readVarint();
      yield [field, wire, Number(v), 0, at];
    } else if (wire === 2) {
      const len = Number(readVarint());
      if (p + len > end) throw new RangeError('truncated protobuf');
      yield [field, wire, p, p + len, at];
      p += len;
    } else if (wire === 5) {
      yield [field, wire, p, p + 4, at];
      p += 4;
    } else if (wire === 1) {
      yield [field, wire, p, p + 8, at];
      p += 8;
    } else {
      throw new RangeError(`unsupported protobuf wire type ${wire}`);
    }
  }
}

/** What the engine needs to know about a model before extending it. */
export interface OnnxModelInfo {
  /** Opset of the default ONNX domain. */
  opset: number;
  inputs: string[];
  outputs: string[];
}

/** The name (field 1) of the ValueInfoProto at model[s, e). */
function valueName(model: Uint8Array, s: number, e: number): string {
  for (const [f, w, a, z] of fields(model, s, e))
    if (f === 1 && w === 2) return new TextDecoder().decode(model.subarray(a, z));
  return '';
}

/** Reads the default-domain opset and the graph's input/output names (top-level fields only). */
export function readModelInfo(model: Uint8Array): OnnxModelInfo {
  let opset = 0;
  const inputs: string[] = [];
  const outputs: string[] = [];
  const dec = new TextDecoder();
  const nameOf = (s: number, e: number): string => valueName(model, s, e);
  for (const [f, w, s, e] of fields(model)) {
    if (f === 8 && w === 2) {
      let domain = '';
      let version = 0;
      for (const [g, gw, a, z] of fields(model, s, e)) {
        if (g === 1 && gw === 2) domain = dec.decode(model.subarray(a, z));
        if (g === 2 && gw === 0) version = a;
      }
      if (domain === '' || domain === 'ai.onnx') opset = Math.max(opset, version);
    } else if (f === 7 && w === 2) {
      for (const [g, gw, a, z] of fields(model, s, e)) {
        if (g === 11 && gw === 2) inputs.push(nameOf(a, z));
        if (g === 12 && gw === 2) outputs.push(nameOf(a, z));
      }
    }
  }
  return { opset, inputs, outputs };
}

/**
 * Whether any initializer keeps its data in an external file (TensorProto.data_location = EXTERNAL). Such a
 * model cannot be loaded from rewritten bytes: its data paths are relative to the file it was read from.
 */
export function hasExternalData(model: Uint8Array): boolean {
  for (const [f, w, s, e] of fields(model)) {
    if (f !== 7 || w !== 2) continue;
    for (const [g, gw, a, z] of fields(model, s, e)) {
      if (g !== 5 || gw !== 2) continue;
      for (const [t, tw, v] of fields(model, a, z)) if (t === 14 && tw === 0 && v === 1) return true;
    }
  }
  return false;
}

/**
 * `model` without the graph inputs named in `names`, so that nodes appended later (GraphBuilder.appendTo)
 * can produce those values instead; `suffix` (GraphBuilder.graphField()) is appended in the same copy. Only
 * the model's and the graph's top-level fields are walked; every other byte (weights included) is copied as
 * it is, never decoded.
 */
export function withoutGraphInputs(
  model: Uint8Array,
  names: readonly string[],
  suffix: Uint8Array = new Uint8Array(0),
): Uint8Array {
  // A model may hold several graph records (protobuf merges them; ours append one): drop from each.
  const parts: Uint8Array[] = [];
  let dropped = 0;
  let graphs = 0;
  for (const [f, w, s, e, at] of fields(model)) {
    if (f !== 7 || w !== 2) {
      parts.push(model.subarray(at, w === 0 ? recordEnd(model, at) : e));
      continue;
    }
    graphs++;
    const keep: Uint8Array[] = [];
    for (const [g, gw, a, z, gat] of fields(model, s, e)) {
      if (g === 11 && gw === 2 && names.includes(valueName(model, a, z))) {
        dropped++;
        continue;
      }
      keep.push(model.subarray(gat, gw === 0 ? recordEnd(model, gat) : z));
    }
    parts.push(lengthDelimited(7, keep));
  }
  if (graphs === 0) throw new RangeError('model has no graph');
  if (dropped !== names.length) throw new RangeError(`graph inputs not found: ${names.join(', ')}`);
  return concat([...parts, suffix]);
}

/** End of the varint record whose tag starts at `at` (fields() gives no end for varints). */
function recordEnd(b: Uint8Array, at: number): number {
  let p = at;
  while (b[p++]! >= 0x80); // the tag
  while (b[p++]! >= 0x80); // the value
  return p;
}

/** A length-delimited field `field` holding `parts` back to back. */
function lengthDelimited(field: number, parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  return concat([Uint8Array.from([...tag(field, 2), ...varint(len)]), ...parts]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/**
 * `model` with the graph output `from` renamed to `to` where its node writes it (and dropped from the graph
 * outputs), so that nodes appended later can read it under the new name and produce a new output called
 * `from`. Only the graph's top-level fields and its nodes' own fields are walked; weights are copied as they
 * are. Nodes that read `from` inside the graph keep reading the old name, so the output must be final (no
 * node may consume it); RangeError otherwise, or when no node writes it. Used to give an existing decoder
 * another decoder's interface around the same computation (tests of decoder_amg's contract).
 */
export function withRenamedOutput(
  model: Uint8Array,
  from: string,
  to: string,
  suffix: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const parts: Uint8Array[] = [];
  let written = 0;
  for (const [f, w, s, e, at] of fields(model)) {
    if (f !== 7 || w !== 2) {
      parts.push(model.subarray(at, w === 0 ? recordEnd(model, at) : e));
      continue;
    }
    const keep: Uint8Array[] = [];
    for (const [g, gw, a, z, gat] of fields(model, s, e)) {
      const raw = model.subarray(gat, gw === 0 ? recordEnd(model, gat) : z);
      if (g === 12 && gw === 2 && valueName(model, a, z) === from) continue;
      if (g !== 1 || gw !== 2) {
        keep.push(raw);
        continue;
      }
      const node: Uint8Array[] = [];
      let hit = false;
      for (const [n, nw, na, nz, nat] of fields(model, a, z)) {
        // NodeProto has only length-delimited fields.
        if (nw !== 2) throw new RangeError(`unexpected wire type ${nw} in a NodeProto`);
        const name = n === 1 || n === 2 ? new TextDecoder().decode(model.subarray(na, nz)) : null;
        if (n === 1 && name === from) throw new RangeError(`${from} is read inside the graph`);
        if (n === 2 && name === from) {
          node.push(Uint8Array.from(str(2, to)));
          hit = true;
        } else node.push(model.subarray(nat, nz));
      }
      if (hit) written++;
      keep.push(hit ? lengthDelimited(1, node) : raw);
    }
    parts.push(lengthDelimited(7, keep));
  }
  if (written !== 1) throw new RangeError(`no node writes ${from}`);
  return concat([...parts, suffix]);
}
