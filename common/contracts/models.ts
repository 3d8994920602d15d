// SAM models: the bundled fixture is always installed; others are imported from disk or downloaded.
// One model is active; the engine (a worker) runs it on CUDA when it can, else on CPU and says why.
import { z } from 'zod';
import { defineService, method } from './core.js';
import { JobInfoSchema, NoArgs, PathSchema } from './schemas.js';

export const ModelInfoSchema = z.object({
  /** Stable id: `fixture:tinysam-shapes`, or a slug of the installed folder. */
  id: z.string().min(1),
  name: z.string(),
  source: z.enum(['fixture', 'imported', 'downloaded']),
  /** Absolute folder holding encoder.onnx / decoder.onnx (+ decoder_batched.onnx). */
  dir: z.string(),
  hasBatchedDecoder: z.boolean(),
  sizeBytes: z.number().int().nonnegative(),
  active: z.boolean(),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const ProviderInfoSchema = z.object({
  /** Execution provider actually in use. */
  provider: z.enum(['cpu', 'cuda']),
  /** Why this provider (e.g. "CUDA provider library not found: …", "no NVIDIA GPU"). */
  reason: z.string(),
  /** Active model id, null before the engine started. */
  modelId: z.string().nullable(),
  device: z.string().nullable(),
});
export type ProviderInfo = z.infer<typeof ProviderInfoSchema>;

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits');
const UrlSchema = z
  .string()
  .max(4096)
  .regex(/^https?:\/\//, 'only http(s) URLs');

export const models = defineService('models', {
  methods: {
    list: method({
      doc: 'Installed models; the fixture is always present.',
      args: NoArgs,
      result: z.array(ModelInfoSchema),
    }),
    importFolder: method({
      doc: 'Copies a folder with encoder.onnx + decoder.onnx (+ decoder_batched.onnx) into the model store.',
      args: z.strictObject({ dir: PathSchema, name: z.string().min(1).max(200).optional() }),
      result: ModelInfoSchema,
    }),
    importPair: method({
      doc: 'Copies an encoder/decoder pair of ONNX files into the model store.',
      args: z.strictObject({
        encoderPath: PathSchema,
        decoderPath: PathSchema,
        name: z.string().min(1).max(200),
      }),
      result: ModelInfoSchema,
    }),
    download: method({
      doc: 'Downloads encoder and decoder (resuming with HTTP Range, checking sha256) as a job; progress via jobs.progress.',
      args: z.strictObject({
        name: z.string().min(1).max(200),
        encoder: z.strictObject({ url: UrlSchema, sha256: Sha256Schema }),
        decoder: z.strictObject({ url: UrlSchema, sha256: Sha256Schema }),
        decoderBatched: z.strictObject({ url: UrlSchema, sha256: Sha256Schema }).optional(),
      }),
      result: JobInfoSchema,
    }),
    setActive: method({
      doc: 'Switches the engine to a model (restarts its worker; cached embeddings are dropped).',
      args: z.strictObject({ id: z.string().min(1) }),
      result: ProviderInfoSchema,
    }),
    providerInfo: method({
      doc: 'Execution provider in use and why.',
      args: NoArgs,
      result: ProviderInfoSchema,
    }),
  },
  events: {
    changed: z.array(ModelInfoSchema),
  },
});
