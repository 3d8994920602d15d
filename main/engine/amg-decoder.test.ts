// decoder_amg.onnx (manifest files.decoderAmg) through the engine. Our exporter writes it for real SAM
// architectures (native-models/export, AmgDecoder, checked there against PyTorch); the fixture has none, so
// here the fixture's batched decoder is given decoder_amg's interface around the same computation — masks
// only for prompts whose predicted IoU on outputs 1..3 is above iou_threshold. AMG through it must find
// exactly the masks AMG finds through the batched decoder: the engine's side of the contract.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasks } from './amg/index.js';
import { AMG_DECODER, GraphBuilder } from './graphs.js';
import { fixtureModelDir, fixtureShapesDir, SamEngine } from './index.js';
import { readModelInfo, withRenamedOutput } from './onnx-rewrite.js';

/** The fixture's batched decoder with decoder_amg's inputs and outputs. */
function amgContractDecoder(batched: Uint8Array): Uint8Array {
  const g = new GraphBuilder('t_amg_');
  const t = g.input(AMG_DECODER.threshold, 'float', [1]);
  const outputs13 = g.op('Slice', ['iou_predictions', g.i64([1]), g.i64([4]), g.i64([1])]);
  // [B,1], not [B]: the fixture declares has_mask_input as [B] too, and with the shared mask input (size 1)
  // onnxruntime's planner would hand a [B] result that buffer.
  const best = g.op('ReduceMax', [outputs13], { axes: [1], keepdims: 1 });
  const nz = g.op('NonZero', [g.op('Greater', [best, t])]); // [2, K]: rows, then the column 0
  const idx = g.op('Gather', [nz, g.i64([0], [])], { axis: 0 });
  g.output(idx, AMG_DECODER.promptIndex, 'int64', ['K']);
  g.output(g.op('Gather', ['t_all_low_res', idx], { axis: 0 }), 'low_res_masks', 'float', ['K', 4, 256, 256]);
  return withRenamedOutput(batched, 'low_res_masks', 't_all_low_res', g.graphField());
}

let dir: string;
let withAmg: SamEngine;
let without: SamEngine;
let misfit: SamEngine;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'maskroom-amgdec-'));
  const src = fixtureModelDir();
  const manifest = JSON.parse(readFileSync(path.join(src, 'manifest.json'), 'utf8')) as {
    id: string;
    files: Record<string, string>;
  };
  const make = (name: string, decoderAmg: string, bytes: Uint8Array | null): string => {
    const d = path.join(dir, name);
    mkdirSync(d);
    for (const f of Object.values(manifest.files)) symlinkSync(path.join(src, f), path.join(d, f));
    if (bytes) writeFileSync(path.join(d, decoderAmg), bytes);
    writeFileSync(
      path.join(d, 'manifest.json'),
      JSON.stringify({ ...manifest, id: `${manifest.id}-${name}`, files: { ...manifest.files, decoderAmg } }),
    );
    return d;
  };
  const batched = new Uint8Array(readFileSync(path.join(src, 'decoder_batched.onnx')));
  const good = make('amg', 'decoder_amg.onnx', amgContractDecoder(batched));
  // A decoderAmg that is not one (the batched decoder itself): the engine must notice and fall back.
  const bad = make('misfit', 'decoder_batched.onnx', null);
  const opts = { provider: 'cpu', cacheDir: false, fastPath: 'on' } as const;
  [withAmg, without, misfit] = await Promise.all([
    SamEngine.create({ modelDir: good, ...opts }),
    SamEngine.create({ modelDir: src, ...opts }),
    SamEngine.create({ modelDir: bad, ...opts }),
  ]);
});
afterAll(async () => {
  await Promise.all([withAmg?.close(), without?.close(), misfit?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('decoder_amg.onnx', () => {
  it('is used when the manifest names a fitting one, and reported when it is missing or does not fit', () => {
    expect(withAmg.describe().fastPath.amgDecoder).toBeNull();
    expect(without.describe().fastPath.amgDecoder).toMatch(/no AMG decoder/);
    expect(misfit.describe().fastPath.amgDecoder).toMatch(/iou_threshold/);
    expect(misfit.describe().fastPath.active).toBe(true);
  });

  it('AMG finds exactly the masks of the batched decoder, with the IoU filter on and off', async () => {
    // 16 prompts per call: the fixture's official-export decoder holds [B, 32, 256, 256] floats per call, and
    // three engines at B = 64 kept several GB in onnxruntime's CPU arenas (a CI worker was OOM-killed).
    const cases = [
      { pointsPerSide: 8, predIouThresh: 0.7, stabilityScoreThresh: 0.75, pointsPerBatch: 16 },
      { pointsPerSide: 5, predIouThresh: 0, stabilityScoreThresh: 0.75, pointsPerBatch: 16 },
    ];
    for (const options of cases) {
      for (const scene of ['shapes_06']) {
        const image = path.join(fixtureShapesDir(), `${scene}.jpg`);
        const a = await generateMasks(withAmg, image, options);
        const b = await generateMasks(without, image, options);
        const c = await generateMasks(misfit, image, options);
        expect(a.masks.length).toBeGreaterThan(0);
        expect(a.masks.map((m) => m.segmentation)).toEqual(b.masks.map((m) => m.segmentation));
        expect(a.masks.map((m) => m.predictedIou)).toEqual(b.masks.map((m) => m.predictedIou));
        expect(c.masks.map((m) => m.segmentation)).toEqual(b.masks.map((m) => m.segmentation));
        expect(a.stats.candidates).toBe(b.stats.candidates);
      }
    }
  }, 600_000);

  it('the contract decoder keeps the interface it claims (inputs and outputs by name)', () => {
    const bytes = amgContractDecoder(
      new Uint8Array(readFileSync(path.join(fixtureModelDir(), 'decoder_batched.onnx'))),
    );
    const info = readModelInfo(bytes);
    expect(info.inputs).toContain(AMG_DECODER.threshold);
    expect(info.outputs).toEqual(
      expect.arrayContaining(['iou_predictions', AMG_DECODER.promptIndex, 'low_res_masks']),
    );
    expect(info.outputs).not.toContain('t_all_low_res');
  });
});
