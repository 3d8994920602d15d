// The model folder's manifest.json: which ONNX files make the model and how to feed them.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EngineError } from './errors.js';

/** SAM's pixel normalization (ImageNet statistics on 0..255 RGB). */
export const SAM_NORMALIZATION = {
  mean: [123.675, 116.28, 103.53] as [number, number, number],
  std: [58.395, 57.12, 57.375] as [number, number, number],
};

const rgb = z.tuple([z.number().finite(), z.number().finite(), z.number().finite()]);
const relFile = z
  .string()
  .min(1)
  .refine(
    (p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..'),
    'must be a file name inside the model folder',
  );

/** Schema of `manifest.json` in a model folder. Exported so the store and UI validate the same thing. */
export const ModelManifestSchema = z.object({
  /** Stable id; part of every embedding-cache key, so change it when the weights change. */
  id: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, dot, dash, underscore'),
  name: z.string().min(1),
  family: z.enum(['sam', 'sam2']),
  /** Side of the square encoder input (SAM: 1024). */
  inputSize: z.number().int().positive(),
  normalization: z.object({ mean: rgb, std: rgb.refine((s) => s.every((v) => v > 0), 'std must be > 0') }),
  files: z.object({
    encoder: relFile,
    decoder: relFile,
    decoderBatched: relFile.optional(),
    /**
     * Optional batched decoder for automatic mask generation (our exporter writes it): decoderBatched's
     * inputs plus `iou_threshold` [1] → `iou_predictions` [B,4], `prompt_index` int64 [K] and
     * `low_res_masks` [K,4,256,256] for only the prompts whose predicted IoU on outputs 1..3 exceeds the
     * threshold. It skips the upscaling of candidates SAM's generator would drop anyway.
     */
    decoderAmg: relFile.optional(),
  }),
  /** Format of `files.decoder`; `files.decoderBatched` is always "sam-onnx-batched". */
  decoderFormat: z.enum(['sam-onnx', 'sam-onnx-batched']),
  embedding: z.object({ shape: z.array(z.number().int().positive()).min(2) }),
  /**
   * Extra encoder outputs the decoders take as inputs by the same name (SAM 2.1's high-resolution FPN
   * features). Kept with the embedding in both caches and fed to every decoder call. Empty for SAM.
   */
  highResFeatures: z
    .array(z.object({ name: z.string().min(1), shape: z.array(z.number().int().positive()).min(1) }))
    .optional(),
  license: z.string().min(1),
});

export type ModelManifest = z.infer<typeof ModelManifestSchema>;
export type FeatureSpec = NonNullable<ModelManifest['highResFeatures']>[number];
export type DecoderFormat = ModelManifest['decoderFormat'];

/** A validated manifest plus the absolute paths of its files (which all exist). */
export interface ModelInfo {
  dir: string;
  manifest: ModelManifest;
  encoderPath: string;
  decoderPath: string;
  decoderBatchedPath?: string;
  decoderAmgPath?: string;
}

/**
 * Reads and validates `<modelDir>/manifest.json` and checks that every file it names exists.
 * Throws EngineError `model_dir_not_found`, `manifest_missing`, `manifest_invalid` or `model_file_missing`.
 */
export function loadModelInfo(modelDir: string): ModelInfo {
  const dir = path.resolve(modelDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new EngineError('model_dir_not_found', `model folder not found: ${dir}`, { dir });
  }
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new EngineError('manifest_missing', `no manifest.json in ${dir}`, { dir });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    throw new EngineError('manifest_invalid', `manifest.json is not JSON: ${(err as Error).message}`, {
      dir,
    });
  }
  const parsed = ModelManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') || '(root)' : '(root)';
    throw new EngineError('manifest_invalid', `manifest.json: ${where}: ${issue?.message ?? 'invalid'}`, {
      dir,
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  const manifest = parsed.data;
  const file = (role: string, name: string): string => {
    const p = path.join(dir, name);
    if (!existsSync(p) || !statSync(p).isFile()) {
      throw new EngineError('model_file_missing', `the model's ${role} (${name}) is missing from ${dir}`, {
        dir,
        role,
        file: name,
      });
    }
    return p;
  };
  return {
    dir,
    manifest,
    encoderPath: file('encoder', manifest.files.encoder),
    decoderPath: file('decoder', manifest.files.decoder),
    ...(manifest.files.decoderBatched
      ? { decoderBatchedPath: file('batched decoder', manifest.files.decoderBatched) }
      : {}),
    ...(manifest.files.decoderAmg ? { decoderAmgPath: file('AMG decoder', manifest.files.decoderAmg) } : {}),
  };
}
