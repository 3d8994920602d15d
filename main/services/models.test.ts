import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { unwrap } from '../../common/contracts/index.js';
import { fixtureModelDir } from '../engine/index.js';
import { downloadFile } from './download.js';
import { startTestBackend, type TestBackend } from './testing.js';

let t: TestBackend | null = null;
let server: Server | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Serves files with Range support; `cutAfter` ends the first response early to simulate a dropped connection. */
async function fileServer(files: Record<string, Buffer>, opts: { cutAfter?: number; ranges?: boolean } = {}) {
  const seen: (string | undefined)[] = [];
  let cut = opts.cutAfter;
  server = createServer((req, res) => {
    const body = files[req.url ?? ''];
    seen.push(req.headers.range);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && opts.ranges !== false) {
      const start = Number(m[1]);
      res.writeHead(206, {
        'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'Content-Length': body.length - start,
      });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'Content-Length': body.length });
    if (cut !== undefined) {
      res.write(body.subarray(0, cut));
      cut = undefined;
      // Let the first bytes reach the client before the connection drops.
      setTimeout(() => res.destroy(), 100);
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

describe('downloadFile', () => {
  it('resumes a dropped download with a Range request and checks the sha256', async () => {
    t = await startTestBackend({ open: false });
    const body = Buffer.alloc(300_000, 7);
    body.write('maskroom', 1000);
    const { base, seen } = await fileServer({ '/enc.onnx': body }, { cutAfter: 100_000 });
    const dest = path.join(t.base, 'enc.onnx');
    await expect(downloadFile(`${base}/enc.onnx`, dest, { sha256: sha(body) })).rejects.toMatchObject({
      code: 'IO_ERROR',
    });
    expect(statSync(`${dest}.part`).size).toBeGreaterThan(0);
    const progress: number[] = [];
    await downloadFile(`${base}/enc.onnx`, dest, { sha256: sha(body), onProgress: (r) => progress.push(r) });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(seen[1]).toMatch(/^bytes=\d+-$/);
    expect(progress[0]).toBeGreaterThan(0);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('deletes the file and reports CHECKSUM_MISMATCH on a wrong hash', async () => {
    t = await startTestBackend({ open: false });
    const { base } = await fileServer({ '/x': Buffer.from('not the model') });
    const dest = path.join(t.base, 'x.onnx');
    await expect(downloadFile(`${base}/x`, dest, { sha256: '0'.repeat(64) })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
    expect(existsSync(dest) || existsSync(`${dest}.part`)).toBe(false);
  });
});

describe('Backend: models', () => {
  it('imports a model folder and an encoder/decoder pair, switches to it', async () => {
    t = await startTestBackend({ open: false });
    const copy = path.join(t.base, 'my-model');
    cpSync(fixtureModelDir(), copy, { recursive: true });
    const imported = unwrap(await t.api.models.importFolder({ dir: copy, name: 'My model' }));
    expect(imported).toMatchObject({
      id: 'my-model',
      source: 'imported',
      hasBatchedDecoder: true,
      active: false,
    });
    const pair = unwrap(
      await t.api.models.importPair({
        encoderPath: path.join(copy, 'encoder.onnx'),
        decoderPath: path.join(copy, 'decoder.onnx'),
        name: 'Pair',
      }),
    );
    expect(pair).toMatchObject({ id: 'pair', hasBatchedDecoder: false });
    const info = unwrap(await t.api.models.setActive({ id: 'pair' }));
    expect(info.modelId).toBe('pair');
    expect(unwrap(await t.api.models.list()).find((m) => m.active)?.id).toBe('pair');
    expect(await t.api.models.setActive({ id: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await t.api.models.importFolder({ dir: t.base })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
  });

  it('keeps the previous model active when the new one does not load', async () => {
    t = await startTestBackend({ open: false });
    const bad = path.join(t.base, 'bad');
    cpSync(fixtureModelDir(), bad, { recursive: true });
    writeFileSync(path.join(bad, 'encoder.onnx'), 'not onnx');
    const m = unwrap(await t.api.models.importFolder({ dir: bad, name: 'bad' }));
    expect(await t.api.models.setActive({ id: m.id })).toMatchObject({
      ok: false,
      error: { code: 'ENGINE_ERROR' },
    });
    expect(unwrap(await t.api.models.providerInfo()).modelId).toBe('fixture:tinysam-shapes');
  });

  it('downloads a model as a job with byte progress and installs it', async () => {
    t = await startTestBackend({ open: false });
    const enc = readFileSync(path.join(fixtureModelDir(), 'encoder.onnx'));
    const dec = readFileSync(path.join(fixtureModelDir(), 'decoder.onnx'));
    const { base } = await fileServer({ '/e': enc, '/d': dec });
    const job = unwrap(
      await t.api.models.download({
        name: 'Net model',
        encoder: { url: `${base}/e`, sha256: sha(enc) },
        decoder: { url: `${base}/d`, sha256: sha(dec) },
      }),
    );
    const done = await t.backend.settleJob(job.id);
    expect(done).toMatchObject({
      state: 'done',
      kind: 'modelDownload',
      done: enc.length + dec.length,
      total: enc.length + dec.length,
    });
    expect(unwrap(await t.api.models.list()).find((m) => m.id === 'net-model')).toMatchObject({
      source: 'downloaded',
    });

    const bad = unwrap(
      await t.api.models.download({
        name: 'Broken',
        encoder: { url: `${base}/e`, sha256: 'a'.repeat(64) },
        decoder: { url: `${base}/d`, sha256: sha(dec) },
      }),
    );
    expect(await t.backend.settleJob(bad.id)).toMatchObject({
      state: 'failed',
      error: { code: 'CHECKSUM_MISMATCH' },
    });
    expect(
      await t.api.models.download({
        name: 'x',
        encoder: { url: 'file:///etc/passwd', sha256: sha(enc) },
        decoder: { url: `${base}/d`, sha256: sha(dec) },
      }),
    ).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
  });
});
