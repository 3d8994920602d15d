// Test support (used by the services', server's and Electron shell's tests): a Backend on temp folders
// with a project of fixture scenes, reached through the in-memory transport.
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import {
  createClient,
  createInMemoryTransport,
  unwrap,
  type JobInfo,
  type MaskroomApi,
} from '../../common/contracts/index.js';
import { fixtureShapesDir } from '../engine/index.js';
import { Backend, type BackendOptions } from './backend.js';

export interface TestBackend {
  backend: Backend;
  api: MaskroomApi;
  /** Allowed root holding `project/` (with `images/shapes_0N.jpg`) and anything a test adds. */
  base: string;
  projectDir: string;
  /** A folder that is NOT an allowed root. */
  outside: string;
  close(): Promise<void>;
}

/** Starts a backend on temp folders; `images` fixture scenes are copied to `<project>/images/`. */
export async function startTestBackend(
  opts: { images?: number; open?: boolean } & Partial<BackendOptions> = {},
): Promise<TestBackend> {
  const tmp = realpathSync(mkdtempSync(path.join(tmpdir(), 'maskroom-svc-')));
  const base = path.join(tmp, 'allowed');
  const projectDir = path.join(base, 'project');
  const outside = path.join(tmp, 'outside');
  mkdirSync(path.join(projectDir, 'images'), { recursive: true });
  mkdirSync(outside);
  for (let i = 0; i < (opts.images ?? 2); i++) {
    const name = `shapes_0${i}.jpg`;
    copyFileSync(path.join(fixtureShapesDir(), name), path.join(projectDir, 'images', name));
  }
  const backend = new Backend({
    mode: 'test',
    dataDir: path.join(tmp, 'data'),
    allowedRoots: [base],
    provider: 'cpu',
    embeddingCacheDir: false,
    ...opts,
  });
  const api = createClient(
    createInMemoryTransport(backend.dispatcher, backend.bus, { origin: 'test', peer: 'test' }),
  );
  if (opts.open ?? true) {
    unwrap(await api.projects.create({ root: projectDir, name: 'Shapes' }));
    const job = unwrap(await api.projects.importFolder({ dir: path.join(projectDir, 'images') }));
    await backend.settleJob(job.id);
  }
  return { backend, api, base, projectDir, outside, close: () => backend.close() };
}

/** Waits for a job through the API's progress events; resolves with its final info. */
export async function waitForJob(t: TestBackend, job: JobInfo): Promise<JobInfo> {
  return t.backend.settleJob(job.id);
}

/** Instance `k` of fixture scene `n`: a row-major 0/1 mask and an interior point (the pixel farthest from its edge along rows). */
export async function fixtureInstance(
  n: number,
  k: number,
): Promise<{ mask: Uint8Array; width: number; height: number; point: { x: number; y: number } }> {
  const { data, info } = await sharp(path.join(fixtureShapesDir(), `shapes_0${n}.ids.png`))
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const ids = new Uint16Array(data.buffer, data.byteOffset, info.width * info.height);
  const mask = new Uint8Array(ids.length);
  let best = { x: 0, y: 0, run: -1 };
  for (let y = 0; y < info.height; y++) {
    let start = -1;
    for (let x = 0; x <= info.width; x++) {
      const inside = x < info.width && ids[y * info.width + x] === k;
      if (inside) mask[y * info.width + x] = 1;
      if (inside && start < 0) start = x;
      if (!inside && start >= 0) {
        if (x - start > best.run) best = { x: Math.floor((start + x) / 2), y, run: x - start };
        start = -1;
      }
    }
  }
  return { mask, width: info.width, height: info.height, point: { x: best.x, y: best.y } };
}
