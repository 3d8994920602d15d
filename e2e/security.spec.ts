// Forged calls: web mode must refuse anyone without the run's token, over WebSocket and HTTP.
import { expect, test } from '@playwright/test';
import WebSocket from 'ws';
import { env } from './helpers.js';

interface Outcome {
  opened: boolean;
  code: number | null;
  messages: string[];
  upgradeStatus: number | null;
}

/** Connects, optionally sends frames once open, and reports how the server ended it. */
function attempt(
  url: string,
  frames: object[],
  headers: Record<string, string> = {},
  stopWhen?: (messages: string[]) => boolean,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { opened: false, code: null, messages: [], upgradeStatus: null };
    const ws = new WebSocket(url, { headers });
    const done = () => resolve(out);
    const timer = setTimeout(() => {
      ws.terminate();
      done();
    }, 15_000);
    ws.on('open', () => {
      out.opened = true;
      for (const f of frames) ws.send(JSON.stringify(f));
    });
    ws.on('message', (d) => {
      out.messages.push(d.toString());
      if (stopWhen?.(out.messages)) ws.close(1000);
    });
    ws.on('unexpected-response', (_req, res) => {
      out.upgradeStatus = res.statusCode ?? null;
      clearTimeout(timer);
      done();
    });
    ws.on('close', (code) => {
      out.code = code;
      clearTimeout(timer);
      done();
    });
    ws.on('error', () => undefined);
  });
}

test('a WebSocket call without the token is rejected and never answered', async () => {
  const { port, base } = env();
  const o = await attempt(
    `ws://127.0.0.1:${port}/ws`,
    [{ type: 'call', id: 1, channel: 'app:projects.current', args: {} }],
    { Origin: base },
  );
  expect(o.code).toBe(4401);
  expect(o.messages.some((m) => m.includes('"result"'))).toBe(false);
});

test('a WebSocket with a wrong token is refused', async () => {
  const { port, base } = env();
  const viaQuery = await attempt(`ws://127.0.0.1:${port}/ws?token=forged`, [], { Origin: base });
  expect([401, 4401]).toContain(viaQuery.upgradeStatus ?? viaQuery.code);
  const viaAuth = await attempt(`ws://127.0.0.1:${port}/ws`, [{ type: 'auth', token: 'forged' }], {
    Origin: base,
  });
  expect(viaAuth.code).toBe(4401);
  expect(viaAuth.messages).not.toContain(JSON.stringify({ type: 'ready' }));
});

test('a WebSocket from a foreign origin is refused even with the token', async () => {
  const { port, token } = env();
  const o = await attempt(`ws://127.0.0.1:${port}/ws?token=${token}`, [], { Origin: 'http://evil.example' });
  expect(o.opened).toBe(false);
  expect(o.upgradeStatus).toBe(403);
});

test('the page and image bytes are refused without the token', async ({ request }) => {
  const { base } = env();
  expect((await request.get(`${base}/`)).status()).toBe(401);
  expect((await request.get(`${base}/api/images/1`)).status()).toBe(401);
});

test('the real token opens a session that answers calls', async () => {
  const { port, token, base } = env();
  const o = await attempt(
    `ws://127.0.0.1:${port}/ws`,
    [
      { type: 'auth', token },
      { type: 'call', id: 1, channel: 'app:app.info', args: {} },
    ],
    { Origin: base },
    (m) => m.some((x) => x.includes('"result"')),
  );
  expect(o.messages.some((m) => m.includes('"ready"'))).toBe(true);
  expect(o.messages.some((m) => m.includes('"result"') && m.includes('"ok":true'))).toBe(true);
});
