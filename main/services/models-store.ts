// The model store: the bundled fixture plus models the user imported or downloaded, one folder each under
// `<dataDir>/models/<id>/` with a manifest.json the engine understands. The active model id is kept in
// `<dataDir>/state.json`.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { AppError, type ModelInfo } from '../../common/contracts/index.js';
import { fixtureModelDir, loadModelInfo, SAM_NORMALIZATION, type ModelManifest } from '../engine/index.js';

export const FIXTURE_MODEL_ID = 'fixture:tinysam-shapes';

interface StateFile {
  activeModelId?: string;
}

/** Turns a display name into a folder-safe id. */
export function slug(name: string): string {
  const s = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return s || 'model';
}

function dirSize(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile()) total += statSync(path.join(dir, e.name)).size;
  }
  return total;
}

/** sha256 (hex) of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A manifest for a SAM encoder/decoder pair given without one (SAM's sizes and normalization). */
export function samManifest(id: string, name: string, files: ModelManifest['files']): ModelManifest {
  return {
    id,
    name,
    family: 'sam',
    inputSize: 1024,
    normalization: { mean: SAM_NORMALIZATION.mean, std: SAM_NORMALIZATION.std },
    files,
    decoderFormat: 'sam-onnx',
    embedding: { shape: [1, 256, 64, 64] },
    license: 'unknown (added by the user)',
  };
}

export class ModelStore {
  readonly modelsDir: string;
  private readonly stateFile: string;

  constructor(
    dataDir: string,
    private readonly fixtureDir: string = fixtureModelDir(),
  ) {
    this.modelsDir = path.join(dataDir, 'models');
    this.stateFile = path.join(dataDir, 'state.json');
    mkdirSync(this.modelsDir, { recursive: true });
  }

  private readState(): StateFile {
    try {
      return JSON.parse(readFileSync(this.stateFile, 'utf8')) as StateFile;
    } catch {
      return {};
    }
  }

  private writeState(s: StateFile): void {
    writeFileSync(this.stateFile, JSON.stringify(s, null, 2));
  }

  /** Folder of a model id; NOT_FOUND when it is not installed. */
  dirOf(id: string): string {
    if (id === FIXTURE_MODEL_ID) return this.fixtureDir;
    if (!/^[a-z0-9._-]{1,60}$/.test(id)) throw new AppError('NOT_FOUND', `no model "${id}"`);
    const dir = path.join(this.modelsDir, id);
    if (!existsSync(path.join(dir, 'manifest.json'))) throw new AppError('NOT_FOUND', `no model "${id}"`);
    return dir;
  }

  activeId(): string {
    const id = this.readState().activeModelId;
    if (id) {
      try {
        this.dirOf(id);
        return id;
      } catch {
        // The active model was deleted by hand: fall back to the fixture, which is always there.
      }
    }
    return FIXTURE_MODEL_ID;
  }

  setActive(id: string): void {
    this.dirOf(id);
    this.writeState({ ...this.readState(), activeModelId: id });
  }

  /** Installed models; the fixture first. Folders with a broken manifest are skipped. */
  list(): ModelInfo[] {
    const active = this.activeId();
    const out: ModelInfo[] = [];
    const add = (id: string, dir: string, source: ModelInfo['source']): void => {
      try {
        const info = loadModelInfo(dir);
        out.push({
          id,
          name: info.manifest.name,
          source,
          dir: info.dir,
          hasBatchedDecoder: info.decoderBatchedPath !== undefined,
          sizeBytes: dirSize(info.dir),
          active: id === active,
        });
      } catch {
        // Not a usable model folder (e.g. a download in progress).
      }
    };
    add(FIXTURE_MODEL_ID, this.fixtureDir, 'fixture');
    for (const e of readdirSync(this.modelsDir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const dir = path.join(this.modelsDir, e.name);
      const origin = existsSync(path.join(dir, '.downloaded')) ? 'downloaded' : 'imported';
      add(e.name, dir, origin);
    }
    return out;
  }

  get(id: string): ModelInfo {
    const m = this.list().find((x) => x.id === id);
    if (!m) throw new AppError('NOT_FOUND', `no model "${id}"`);
    return m;
  }

  private freeId(name: string): string {
    const base = slug(name);
    let id = base;
    for (let i = 2; existsSync(path.join(this.modelsDir, id)); i++) id = `${base}-${i}`;
    return id;
  }

  /**
   * Installs a folder of files into `<models>/<id>` atomically (staged under `.staging`, then renamed):
   * `files` maps the target file name to the source path. Writes `manifest` (its id set to the folder id).
   */
  install(
    name: string,
    files: Record<string, string>,
    manifest: (id: string) => ModelManifest,
    origin: 'imported' | 'downloaded',
    move = false,
  ): ModelInfo {
    const id = this.freeId(name);
    const staging = path.join(this.modelsDir, '.staging', id);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      for (const [target, source] of Object.entries(files)) {
        if (move) renameSync(source, path.join(staging, target));
        else copyFileSync(source, path.join(staging, target));
      }
      writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(manifest(id), null, 2));
      if (origin === 'downloaded') writeFileSync(path.join(staging, '.downloaded'), '');
      loadModelInfo(staging); // refuse a folder the engine could not load
      renameSync(staging, path.join(this.modelsDir, id));
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      throw e;
    }
    return this.get(id);
  }

  /** Imports a model folder: its manifest.json when it has one, else encoder.onnx + decoder.onnx (+ decoder_batched.onnx). */
  importFolder(dir: string, name?: string): ModelInfo {
    const manifestPath = path.join(dir, 'manifest.json');
    if (existsSync(manifestPath)) {
      const info = loadModelInfo(dir);
      const files: Record<string, string> = {
        [info.manifest.files.encoder]: info.encoderPath,
        [info.manifest.files.decoder]: info.decoderPath,
      };
      if (info.decoderBatchedPath && info.manifest.files.decoderBatched)
        files[info.manifest.files.decoderBatched] = info.decoderBatchedPath;
      if (info.decoderAmgPath && info.manifest.files.decoderAmg)
        files[info.manifest.files.decoderAmg] = info.decoderAmgPath;
      for (const f of Object.keys(files)) {
        if (f.includes('/') || f.includes('\\'))
          throw new AppError('INVALID_ARGUMENT', `model files must sit next to manifest.json (${f})`);
      }
      const displayName = name ?? info.manifest.name;
      return this.install(
        displayName,
        files,
        (id) => ({ ...info.manifest, id, name: displayName }),
        'imported',
      );
    }
    const enc = path.join(dir, 'encoder.onnx');
    const dec = path.join(dir, 'decoder.onnx');
    if (!existsSync(enc) || !existsSync(dec)) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `${dir} has neither manifest.json nor encoder.onnx + decoder.onnx`,
      );
    }
    const batched = path.join(dir, 'decoder_batched.onnx');
    const files: Record<string, string> = { 'encoder.onnx': enc, 'decoder.onnx': dec };
    if (existsSync(batched)) files['decoder_batched.onnx'] = batched;
    const displayName = name ?? path.basename(dir);
    return this.install(
      displayName,
      files,
      (id) =>
        samManifest(id, displayName, {
          encoder: 'encoder.onnx',
          decoder: 'decoder.onnx',
          ...(existsSync(batched) ? { decoderBatched: 'decoder_batched.onnx' } : {}),
        }),
      'imported',
    );
  }

  /** Imports an encoder/decoder pair of ONNX files. */
  importPair(encoderPath: string, decoderPath: string, name: string): ModelInfo {
    return this.install(
      name,
      { 'encoder.onnx': encoderPath, 'decoder.onnx': decoderPath },
      (id) => samManifest(id, name, { encoder: 'encoder.onnx', decoder: 'decoder.onnx' }),
      'imported',
    );
  }
}
