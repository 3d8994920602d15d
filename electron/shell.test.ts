import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { contracts, eventTable, listenerName, methodTable, unwrap } from '../common/contracts/index.js';
import { startTestBackend, type TestBackend } from '../main/services/testing.js';
import { makeHandler, registerIpc } from './ipc.js';
import { buildPreloadApi } from './preload-api.js';
import { handleAppRequest } from './protocol.js';
import { isTrustedSender, navigationAllowed, windowOptions } from './security.js';

let t: TestBackend;
beforeAll(async () => {
  t = await startTestBackend({ images: 1 });
});
afterAll(async () => {
  await t.close();
});

const appFrame = { url: 'maskroom://app/index.html', parent: null };

describe('window and navigation policy', () => {
  it('isolates and sandboxes the renderer with no Node and web security on', () => {
    const w = windowOptions('/x/preload.cjs').webPreferences!;
    expect(w).toMatchObject({
      preload: '/x/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    });
  });

  it('trusts only the app’s own top-level frame and navigation within the app', () => {
    expect(isTrustedSender(appFrame)).toBe(true);
    expect(isTrustedSender({ url: 'maskroom://app/index.html', parent: {} })).toBe(false);
    expect(isTrustedSender({ url: 'https://evil.example/', parent: null })).toBe(false);
    expect(isTrustedSender({ url: 'file:///etc/passwd', parent: null })).toBe(false);
    expect(isTrustedSender({ url: 'maskroom://image/1', parent: null })).toBe(false);
    expect(isTrustedSender(null)).toBe(false);
    expect(navigationAllowed('maskroom://app/index.html#/review')).toBe(true);
    expect(navigationAllowed('https://example.com')).toBe(false);
  });
});

describe('ipc handlers', () => {
  it('refuses untrusted senders before anything runs', async () => {
    const before = unwrap(await t.api.categories.list());
    const h = makeHandler('app:categories.create', t.backend.dispatcher, isTrustedSender);
    const r = await h({ senderFrame: { url: 'https://evil.example/', parent: null } }, { name: 'evil' });
    expect(r).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(unwrap(await t.api.categories.list())).toEqual(before);
  });

  it('validates payloads of trusted senders and runs valid calls', async () => {
    const h = makeHandler('app:categories.create', t.backend.dispatcher, isTrustedSender);
    expect(await h({ senderFrame: appFrame }, { name: 42 })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(await h({ senderFrame: appFrame }, { name: 'ok', sneaky: true })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(await h({ senderFrame: appFrame }, { name: 'from-ipc' })).toMatchObject({
      ok: true,
      value: { name: 'from-ipc' },
    });
  });

  it('registers one handler per contract method and removes them all', () => {
    const handle = vi.fn();
    const removeHandler = vi.fn();
    const dispose = registerIpc({ handle, removeHandler }, t.backend.dispatcher, isTrustedSender);
    const channels = methodTable().map((m) => m.channel);
    expect(handle.mock.calls.map((c) => c[0])).toEqual(channels);
    dispose();
    expect(removeHandler.mock.calls.map((c) => c[0])).toEqual(channels);
  });
});

describe('preload', () => {
  it('exposes exactly the contract methods and onX listeners, and calls their channels', async () => {
    const invoke = vi.fn(async () => ({ ok: true, value: [] }));
    const on = vi.fn(() => () => undefined);
    const api = buildPreloadApi({ invoke, on }) as unknown as Record<string, Record<string, unknown>>;
    expect(Object.keys(api).sort()).toEqual(Object.keys(contracts).sort());
    for (const [name, spec] of Object.entries(contracts)) {
      const expected = [
        ...Object.keys(spec.methods),
        ...Object.keys(spec.events).map((e) => listenerName(e)),
      ].sort();
      expect(Object.keys(api[name]!).sort()).toEqual(expected);
    }
    expect(await (api.categories!.list as () => Promise<unknown>)()).toEqual({ ok: true, value: [] });
    expect(invoke).toHaveBeenCalledWith('app:categories.list', {});
    (api.jobs!.onProgress as (cb: () => void) => void)(() => undefined);
    expect(on).toHaveBeenCalledWith('app:jobs.progress', expect.any(Function));
    expect(eventTable().length).toBeGreaterThan(0);
  });

  it('bundles into a CommonJS file that requires nothing but electron', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'maskroom-preload-')), 'preload.cjs');
    await build({
      entryPoints: [path.join(import.meta.dirname, 'preload.ts')],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      external: ['electron'],
      logLevel: 'silent',
    });
    const code = readFileSync(out, 'utf8');
    const required = [...code.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(['electron']));
    expect(code).toContain('exposeInMainWorld');
  });
});

describe('maskroom:// protocol', () => {
  it('serves the renderer with a CSP, image bytes by id, and nothing else', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maskroom-app-'));
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(path.join(path.dirname(dir), 'outside.txt'), 'x');
    const page = await handleAppRequest('maskroom://app/index.html', dir, t.backend);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await handleAppRequest('maskroom://app/../outside.txt', dir, t.backend)).status).toBe(404);
    expect((await handleAppRequest('maskroom://app/%2e%2e/outside.txt', dir, t.backend)).status).toBe(404);
    const id = unwrap(await t.api.images.list()).items[0]!.id;
    const img = await handleAppRequest(`maskroom://image/${id}`, dir, t.backend);
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    expect(img.headers.get('access-control-allow-origin')).toBe('maskroom://app');
    expect((await handleAppRequest('maskroom://image/999999', dir, t.backend)).status).toBe(404);
    expect((await handleAppRequest('maskroom://other/x', dir, t.backend)).status).toBe(404);
  });
});
