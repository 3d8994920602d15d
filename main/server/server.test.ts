import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createClient,
  createWebSocketTransport,
  unwrap,
  type WebSocketLike,
} from '../../common/contracts/index.js';
import { startTestBackend, type TestBackend } from '../services/testing.js';
import { cookieName } from './auth.js';
import { startWebServer, type WebServer } from './server.js';

let t: TestBackend;
let server: WebServer;
let rendererDir: string;

beforeAll(async () => {
  t = await startTestBackend({ images: 1 });
  rendererDir = mkdtempSync(path.join(tmpdir(), 'maskroom-renderer-'));
  mkdirSync(path.join(rendererDir, 'assets'));
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Maskroom</title>');
  writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(path.dirname(rendererDir), 'secret.txt'), 'secret');
  server = await startWebServer({ backend: t.backend, port: 0, rendererDir });
});
afterAll(async () => {
  await server.close();
  await t.close();
});

function get(
  p: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: p,
        method,
        headers: { host: `127.0.0.1:${server.port}`, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function openSocket(query = '', headers: Record<string, string> = {}): WebSocket {
  return new WebSocket(`ws://127.0.0.1:${server.port}/ws${query}`, { headers });
}

/** Resolves with the close code, or the HTTP status when the upgrade was refused. */
function outcome(
  ws: WebSocket,
  send?: unknown[],
): Promise<{ close?: number; status?: number; messages: unknown[] }> {
  const messages: unknown[] = [];
  return new Promise((resolve) => {
    ws.on('open', () => {
      for (const m of send ?? []) ws.send(typeof m === 'string' ? m : JSON.stringify(m));
    });
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    ws.on('close', (code) => resolve({ close: code, messages }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode, messages }));
    ws.on('error', () => undefined);
  });
}

describe('web mode HTTP', () => {
  it('refuses requests without the token or with a wrong one', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/?token=wrong')).status).toBe(401);
    expect((await get('/assets/app.js', { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await get(`/api/images/1`)).status).toBe(401);
  });

  it('serves the renderer with a CSP, sets the cookie, and then accepts the cookie or a bearer header', async () => {
    const page = await get(`/?token=${server.token}`);
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('<title>Maskroom</title>');
    expect(page.headers['content-security-policy']).toMatch(
      /default-src 'self'.*connect-src 'self' ws:\/\/127\.0\.0\.1:\d+/,
    );
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(String(page.headers['set-cookie'])).toContain(`${cookieName(server.port)}=`);
    expect(String(page.headers['set-cookie'])).toContain('HttpOnly');
    const asset = await get('/assets/app.js', {
      cookie: `${cookieName(server.port)}=${encodeURIComponent(server.token)}`,
    });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect((await get('/assets/app.js', { authorization: `Bearer ${server.token}` })).status).toBe(200);
  });

  it('serves image bytes of the open project and nothing outside the renderer folder', async () => {
    const id = unwrap(await t.api.images.list()).items[0]!.id;
    const img = await get(`/api/images/${id}?token=${server.token}`);
    expect(img.status).toBe(200);
    expect(img.headers['content-type']).toBe('image/jpeg');
    expect(img.body.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect((await get(`/api/images/9999?token=${server.token}`)).status).toBe(404);
    expect((await get(`/..%2fsecret.txt?token=${server.token}`)).status).toBe(404);
    expect((await get(`/%2e%2e/secret.txt?token=${server.token}`)).status).toBe(404);
    expect((await get(`/api/debug/state?token=${server.token}`)).status).toBe(404);
    expect((await get(`/?token=${server.token}`, {}, 'POST')).status).toBe(405);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    expect((await get(`/?token=${server.token}`, { host: 'evil.example:80' })).status).toBe(421);
  });
});

describe('web mode WebSocket', () => {
  it('runs typed calls and delivers events over the real socket', async () => {
    const transport = createWebSocketTransport({
      url: `ws://127.0.0.1:${server.port}/ws`,
      token: server.token,
      connect: (url) => new WebSocket(url) as unknown as WebSocketLike,
    });
    const api = createClient(transport);
    const events: string[] = [];
    api.categories.onChanged((cats) => events.push(cats.map((c) => c.name).join(',')));
    const cat = unwrap(await api.categories.create({ name: 'over-ws' }));
    expect(cat.name).toBe('over-ws');
    await expect.poll(() => events).toContain('over-ws');
    transport.close();
  });

  it('closes unauthenticated sockets and refuses wrong tokens and foreign origins, changing nothing', async () => {
    const before = unwrap(await t.api.categories.list());
    const call = { type: 'call', id: 1, channel: 'app:categories.create', args: { name: 'forged' } };
    expect(await outcome(openSocket(), [call])).toMatchObject({ close: 4401, messages: [] });
    expect(await outcome(openSocket(), [{ type: 'auth', token: 'wrong' }, call])).toMatchObject({
      close: 4401,
    });
    expect(await outcome(openSocket('?token=wrong'))).toMatchObject({ status: 401 });
    expect(
      await outcome(openSocket(`?token=${server.token}`, { origin: 'http://evil.example' })),
    ).toMatchObject({ status: 403 });
    expect(await outcome(openSocket(), ['not json'])).toMatchObject({ close: 4401 });
    expect(unwrap(await t.api.categories.list())).toEqual(before);
  });

  it('answers forged calls with typed errors and leaves the database unchanged', async () => {
    const before = unwrap(await t.api.projects.stats());
    const ws = openSocket(`?token=${server.token}`);
    const answers = new Map<number, unknown>();
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; id?: number; result?: unknown };
      if (m.type === 'result') answers.set(m.id!, m.result);
    });
    await new Promise((r) => ws.on('open', r));
    const send = (id: number, channel: string, args: unknown) =>
      ws.send(JSON.stringify({ type: 'call', id, channel, args }));
    send(1, 'app:annotations.create', {
      imageId: 'one',
      categoryId: null,
      rle: { size: [1, 1], counts: '1' },
    });
    send(2, 'app:projects.importFolder', { dir: '/etc' });
    send(3, 'app:export.toPath', { format: 'coco-rle', path: '../../../../tmp/x.json' });
    send(4, 'app:nope.nothing', {});
    send(5, 'app:categories.create', { name: 'x', extra: 'field' });
    send(6, 'app:annotations.delete', { ids: [1e9] });
    await expect.poll(() => answers.size).toBe(6);
    expect(answers.get(1)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(answers.get(2)).toMatchObject({ ok: false, error: { code: 'PATH_OUTSIDE_ROOT' } });
    expect(answers.get(3)).toMatchObject({ ok: false, error: { code: 'PATH_OUTSIDE_ROOT' } });
    expect(answers.get(4)).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(answers.get(5)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(answers.get(6)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    ws.close();
    expect(unwrap(await t.api.projects.stats())).toEqual(before);
  });
});

describe('web mode entry point', () => {
  it('prints the URL with a token and serves the test hook when asked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maskroom-cli-'));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'main/server/cli.ts',
        '--port',
        '0',
        '--project',
        path.join(dir, 'p'),
        '--data-dir',
        path.join(dir, 'data'),
        '--test-hooks',
        '--provider',
        'cpu',
      ],
      { cwd: path.resolve(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /Maskroom web mode: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const url = new URL(line);
      const res = await fetch(`${url.origin}/api/debug/state?token=${url.searchParams.get('token')}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ project: { root: path.join(dir, 'p') } });
      expect((await fetch(`${url.origin}/api/debug/state`)).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    }
  });
});
