// The addon in worker threads that are stopped under it, in a child process (an abort there must not take the
// test runner with it).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixtureModelDir } from './index.js';
import { loadOrtx, ortxUnavailableReason, type Ortx } from './ortx.js';

const ortx: Ortx | null = loadOrtx();
const reason = ortxUnavailableReason();
const required = process.env.MASKROOM_REQUIRE_ORTX === '1';

describe(`ortx in stopped workers${ortx ? '' : ` (unavailable: ${reason})`}`, () => {
  const test = ortx !== null || required ? it : it.skipIf(true);

  // An engine's worker can be stopped (engine.close(), a restart) while the addon has session builds and runs
  // on the thread pool. Their completions then find an environment that cannot run JS; node-addon-api's
  // rethrow of that failure escaped the callback and aborted the whole process (run 20 on the GPU host, the
  // post-processing graphs' background builds). Now the promise is dropped with the worker and the process
  // lives. The child stops workers at several points of their builds, runs and mask upscaling.
  test('stopping a worker with builds and runs in flight does not abort the process', () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const [addon, lib, model] = JSON.parse(process.argv[1]);
      const body = \`
        const { workerData: w, parentPort } = require('node:worker_threads');
        const a = require(w.addon);
        a.init(w.lib);
        parentPort.postMessage('ready');
        for (let i = 0; i < 4; i++)
          a.createSession(w.model, { provider: 'cpu' }).then((s) => {
            const data = new Float32Array(3 * 1024 * 1024);
            s.run({ image: { type: 'float32', dims: [1, 3, 1024, 1024], data } }, [{ name: s.outputs[0].name }]).catch(() => {});
          }, () => {});
        // The mask post-processing too (masks_kernel.cc: its own pool threads, then the completion).
        const planes = Float32Array.from({ length: 8 * 65536 }, () => Math.random() - 0.5);
        const frame = { inputSize: 1024, resizedHeight: 683, resizedWidth: 1024, height: 1500, width: 2250 };
        for (let i = 0; i < 4; i++)
          a.upscaleMasks(planes, Int32Array.of(0, 1, 2, 3, 4, 5, 6, 7), frame, 0).catch(() => {});\`;
      (async () => {
        let stopped = 0;
        for (const delay of [0, 10, 40, 120, 300, 600]) {
          for (let k = 0; k < 2; k++) {
            const w = new Worker(body, { eval: true, workerData: { addon, lib, model } });
            await new Promise((r) => w.once('message', r));
            await new Promise((r) => setTimeout(r, delay));
            await w.terminate();
            stopped++;
          }
        }
        process.stdout.write(String(stopped));
      })();`;
    const args = JSON.stringify([
      path.join(path.dirname(fileURLToPath(import.meta.url)), 'ortx', 'build', 'Release', 'ortx.node'),
      ortx!.libraryPath,
      path.join(fixtureModelDir(), 'encoder.onnx'),
    ]);
    const r = spawnSync(process.execPath, ['-e', script, args], { encoding: 'utf8', timeout: 120_000 });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({
      status: 0,
      signal: null,
      stderr: '',
    });
    expect(r.stdout).toBe('12');
  });
});
