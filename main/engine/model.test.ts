import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decode } from '../../common/rle/index.js';
import { EngineError, fixtureModelDir, fixtureShapesDir, loadModelInfo, SamEngine } from './index.js';
import { extendOnnxGraph, tinyIdentityOnnx } from './onnx-tiny.js';
import { checkDecoder, type TensorMeta } from './signature.js';
import { maskIou } from './testing.js';

const fixture = fixtureModelDir();
const baseManifest = {
  id: 'tinysam-shapes',
  name: 'test',
  family: 'sam',
  inputSize: 1024,
  normalization: { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] },
  files: { encoder: 'encoder.onnx', decoder: 'decoder.onnx', decoderBatched: 'decoder_batched.onnx' },
  decoderFormat: 'sam-onnx',
  embedding: { shape: [1, 256, 64, 64] },
  license: 'test',
};
const dirs: string[] = [];
const NOT_SAM = tinyIdentityOnnx([{ name: 'x', dims: [1, 3] }], [{ name: 'y', dims: [1, 3] }]);

/** A model folder with the given manifest; files are links to the fixture's ONNX, or given bytes. */
function modelDir(manifest: unknown, files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'maskroom-model-'));
  dirs.push(dir);
  if (manifest !== undefined) writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  for (const [name, src] of Object.entries(files)) {
    if (typeof src === 'string') symlinkSync(path.join(fixture, src), path.join(dir, name));
    else writeFileSync(path.join(dir, name), src);
  }
  return dir;
}

const allFiles = {
  'encoder.onnx': 'encoder.onnx',
  'decoder.onnx': 'decoder.onnx',
  'decoder_batched.onnx': 'decoder_batched.onnx',
};

async function createError(dir: string): Promise<EngineError> {
  const err = await SamEngine.create({ modelDir: dir, provider: 'cpu', cacheDir: false }).then(
    async (e) => {
      await e.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineError);
  return err as EngineError;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('model folder and manifest', () => {
  it('loads the fixture and recognizes both decoder formats', async () => {
    const e = await SamEngine.create({ modelDir: fixture, provider: 'cpu', cacheDir: false });
    try {
      expect(e.model.id).toBe('tinysam-shapes');
      expect(e.describe().decoder).toEqual({ format: 'sam-onnx', masksPerPrompt: 4 });
      expect(e.describe().batchedDecoder).toEqual({ format: 'sam-onnx-batched', masksPerPrompt: 4 });
    } finally {
      await e.close();
    }
  });

  it('refuses a missing folder, a missing or invalid manifest', async () => {
    expect((await createError(path.join(os.tmpdir(), 'no-such-model-dir'))).code).toBe('model_dir_not_found');
    expect((await createError(modelDir(undefined, allFiles))).code).toBe('manifest_missing');
    const bad = await createError(modelDir({ ...baseManifest, family: 'yolo' }, allFiles));
    expect(bad.code).toBe('manifest_invalid');
    expect(bad.message).toContain('family');
    const escape = await createError(
      modelDir({ ...baseManifest, files: { ...baseManifest.files, encoder: '../x.onnx' } }, allFiles),
    );
    expect(escape.code).toBe('manifest_invalid');
    expect(() => loadModelInfo(modelDir({ ...baseManifest, inputSize: -1 }, allFiles))).toThrow(/inputSize/);
  });

  it('names the missing decoder or encoder file', async () => {
    const noDecoder = await createError(
      modelDir(baseManifest, {
        'encoder.onnx': 'encoder.onnx',
        'decoder_batched.onnx': 'decoder_batched.onnx',
      }),
    );
    expect(noDecoder.code).toBe('model_file_missing');
    expect(noDecoder.details?.role).toBe('decoder');
    const noEncoder = await createError(
      modelDir(baseManifest, {
        'decoder.onnx': 'decoder.onnx',
        'decoder_batched.onnx': 'decoder_batched.onnx',
      }),
    );
    expect(noEncoder.code).toBe('model_file_missing');
    expect(noEncoder.details?.role).toBe('encoder');
  });

  it('refuses an ONNX that is not SAM, naming the input that does not fit', async () => {
    const asDecoder = await createError(modelDir(baseManifest, { ...allFiles, 'decoder.onnx': NOT_SAM }));
    expect(asDecoder.code).toBe('model_mismatch');
    expect(asDecoder.message).toContain('"image_embeddings"');
    const asEncoder = await createError(modelDir(baseManifest, { ...allFiles, 'encoder.onnx': NOT_SAM }));
    expect(asEncoder.code).toBe('model_mismatch');
    expect(asEncoder.message).toMatch(/input "x".*rank 2/);
    const garbage = await createError(
      modelDir(baseManifest, { ...allFiles, 'decoder.onnx': new TextEncoder().encode('not onnx') }),
    );
    expect(garbage.code).toBe('model_load_failed');
  });

  it('refuses a decoder whose format differs from the manifest', async () => {
    const batchedAsOfficial = await createError(
      modelDir(baseManifest, { ...allFiles, 'decoder.onnx': 'decoder_batched.onnx' }),
    );
    expect(batchedAsOfficial.code).toBe('model_mismatch');
    expect(batchedAsOfficial.message).toContain('"orig_im_size"');
    const officialAsBatched = await createError(
      modelDir(baseManifest, { ...allFiles, 'decoder_batched.onnx': 'decoder.onnx' }),
    );
    expect(officialAsBatched.code).toBe('model_mismatch');
    expect(officialAsBatched.message).toContain('"orig_im_size"');
  });

  it('runs a model whose only decoder is the batched one', async () => {
    const dir = modelDir(
      {
        ...baseManifest,
        decoderFormat: 'sam-onnx-batched',
        files: { encoder: 'encoder.onnx', decoder: 'decoder_batched.onnx' },
      },
      { 'encoder.onnx': 'encoder.onnx', 'decoder_batched.onnx': 'decoder_batched.onnx' },
    );
    const batchedOnly = await SamEngine.create({ modelDir: dir, provider: 'cpu', cacheDir: false });
    const official = await SamEngine.create({ modelDir: fixture, provider: 'cpu', cacheDir: false });
    try {
      const image = path.join(fixtureShapesDir(), 'shapes_00.jpg');
      const prompt = { points: [{ x: 563, y: 250, label: 1 as const }] };
      const a = await batchedOnly.segment(image, prompt);
      const b = await official.segment(image, prompt);
      expect(a.area).toBeGreaterThan(1000);
      expect(maskIou(decode(a.rle), decode(b.rle))).toBeGreaterThan(0.97);
    } finally {
      await Promise.all([batchedOnly.close(), official.close()]);
    }
  });
});

describe('SAM 2.1-style models (highResFeatures)', () => {
  const hr = [
    { name: 'high_res_feats_0', shape: [1, 32, 256, 256] },
    { name: 'high_res_feats_1', shape: [1, 64, 128, 128] },
  ];
  const tensors = hr.map((x) => ({ name: x.name, dims: x.shape }));
  const read = (f: string) => readFileSync(path.join(fixture, f));
  // The fixture with extra encoder outputs and decoder inputs (which onnxruntime refuses to run without).
  const sam2Files = {
    'encoder.onnx': extendOnnxGraph(read('encoder.onnx'), { zeroOutputs: tensors }),
    'decoder.onnx': extendOnnxGraph(read('decoder.onnx'), { inputs: tensors }),
    'decoder_batched.onnx': extendOnnxGraph(read('decoder_batched.onnx'), { inputs: tensors }),
  };
  const sam2Manifest = { ...baseManifest, id: 'sam2-like', family: 'sam2', highResFeatures: hr };

  it('keeps the extra encoder outputs with the embedding, on disk too, and feeds them to both decoders', async () => {
    const dir = modelDir(sam2Manifest, sam2Files);
    const cacheDir = path.join(dir, 'cache');
    const image = path.join(fixtureShapesDir(), 'shapes_00.jpg');
    const click = { points: [{ x: 563, y: 250, label: 1 as const }] };
    const plain = await SamEngine.create({ modelDir: fixture, provider: 'cpu', cacheDir: false });
    const expected = await plain.segment(image, click);
    await plain.close();
    const first = await SamEngine.create({ modelDir: dir, provider: 'cpu', cacheDir });
    try {
      const r = await first.segment(image, click);
      expect(r.cached).toBe(false);
      expect(maskIou(decode(r.rle), decode(expected.rle))).toBeGreaterThan(0.99);
      expect((await first.stats()).memoryCache.bytes).toBeGreaterThan(
        (256 * 4096 + 32 * 65536 + 64 * 16384) * 4,
      );
    } finally {
      await first.close();
    }
    const second = await SamEngine.create({ modelDir: dir, provider: 'cpu', cacheDir });
    try {
      const r = await second.segment(image, click);
      expect(r.cached).toBe('disk');
      expect(r.rle).toEqual((await second.segment(expected.key, click)).rle);
      const low = await second.decodeLowRes(expected.key, [click, click]);
      expect(low.iou.length).toBe(8);
    } finally {
      await second.close();
    }
  });

  it('names a listed feature the encoder does not output', async () => {
    const err = await createError(modelDir(sam2Manifest, { ...sam2Files, 'encoder.onnx': 'encoder.onnx' }));
    expect(err.code).toBe('model_mismatch');
    expect(err.message).toContain('"high_res_feats_0"');
  });
});

describe('checkDecoder', () => {
  const t = (name: string, shape: (number | string)[]): TensorMeta => ({
    name,
    isTensor: true,
    type: 'float32',
    shape,
  });
  const inputs = [
    t('image_embeddings', [1, 256, 64, 64]),
    t('point_coords', [1, 'n', 2]),
    t('point_labels', [1, 'n']),
    t('mask_input', [1, 1, 256, 256]),
    t('has_mask_input', [1]),
    t('orig_im_size', [2]),
  ];
  const outputs = [
    t('masks', [1, 1, 'h', 'w']),
    t('iou_predictions', [1, 1]),
    t('low_res_masks', [1, 1, 256, 256]),
  ];

  it('accepts the single-mask official export', () => {
    expect(checkDecoder('d.onnx', inputs, outputs, 'sam-onnx', [1, 256, 64, 64])).toEqual({
      format: 'sam-onnx',
      masksPerPrompt: 1,
    });
  });

  it('names a wrongly shaped input', () => {
    const wrong = inputs.map((m) => (m.name === 'point_coords' ? t('point_coords', [1, 'n', 3]) : m));
    expect(() => checkDecoder('d.onnx', wrong, outputs, 'sam-onnx', [1, 256, 64, 64])).toThrow(
      /input "point_coords".*dimension 2 is 3/,
    );
    expect(() => checkDecoder('d.onnx', inputs, outputs, 'sam-onnx', [1, 256, 32, 32])).toThrow(
      /"image_embeddings"/,
    );
    expect(() =>
      checkDecoder('d.onnx', [...inputs, t('extra', [1])], outputs, 'sam-onnx', [1, 256, 64, 64]),
    ).toThrow(/"extra"/);
  });
});
