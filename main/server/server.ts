// Web mode: the same backend as the desktop app, served on 127.0.0.1 to any browser. HTTP serves the
// built renderer and image bytes; one WebSocket per page carries the contract calls and events (protocol
// in common/contracts/README.md). Every request and connection must present the run's token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AppError,
  ClientMessageSchema,
  WS_CLOSE,
  WS_PATH,
  type Unsubscribe,
} from '../../common/contracts/index.js';
import type { BackendHost, CallContext } from '../services/host.js';
import { cookieName, hostAllowed, newToken, originAllowed, presentedToken, tokensEqual } from './auth.js';
import { readStatic } from './static.js';

export interface WebServerOptions {
  backend: BackendHost;
  /** 0 picks a free port. */
  port: number;
  /** Defaults to a fresh random token. */
  token?: string;
  /** The built renderer (dist/renderer). Missing: pages answer 503 with a hint, the API still works. */
  rendererDir: string;
  /** Serves GET /api/debug/state (read-only) for end-to-end tests. */
  testHooks?: boolean;
  /** Largest WebSocket frame accepted (brush masks as RLE are small; 64 MiB is generous). */
  maxPayloadBytes?: number;
  /** How long a socket may stay unauthenticated before it is closed. */
  authTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface WebServer {
  readonly port: number;
  readonly token: string;
  /** `http://127.0.0.1:PORT/?token=…`: what the user opens. */
  readonly url: string;
  close(): Promise<void>;
}

/** The Content-Security-Policy of every page: our origin only, plus our WebSocket. */
export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // React and Konva set inline style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  // The token travels in the page URL: never hand it to another site.
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

const IMAGE_PATH = /^\/api\/images\/(\d{1,15})$/;

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  type: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...SECURITY_HEADERS, ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

const APP_ERROR_STATUS: Partial<Record<string, number>> = {
  NOT_FOUND: 404,
  NO_PROJECT: 409,
  PATH_OUTSIDE_ROOT: 403,
};

/** Starts web mode on 127.0.0.1 only. */
export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const token = opts.token ?? newToken();
  const log = opts.log ?? (() => undefined);
  /** Authenticated sockets: they receive events. */
  const sockets = new Set<WebSocket>();
  /** Every open socket, so close() can end them all. */
  const everyone = new Set<WebSocket>();
  let port = 0;
  let nextPeer = 1;

  const handleHttp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req, port)) return send(res, 421, 'wrong Host', 'text/plain; charset=utf-8');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'method not allowed', 'text/plain; charset=utf-8', { Allow: 'GET, HEAD' });
    }
    const presented = presentedToken(req, port);
    if (!presented || !tokensEqual(presented.token, token)) {
      return send(
        res,
        401,
        'Maskroom web mode: open the URL printed by the server (it carries the token).',
        'text/plain; charset=utf-8',
      );
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const image = IMAGE_PATH.exec(url.pathname);
    if (image) {
      try {
        const img = await opts.backend.displayImage(Number(image[1]));
        return send(res, 200, img.bytes, img.mime, { 'Cache-Control': 'private, max-age=60' });
      } catch (e) {
        if (e instanceof AppError) return sendJson(res, APP_ERROR_STATUS[e.code] ?? 400, e.toData());
        log(`image ${image[1]}: ${String(e)}`);
        return sendJson(res, 500, { code: 'INTERNAL', message: 'could not read the image' });
      }
    }
    if (url.pathname === '/api/debug/state') {
      if (!opts.testHooks) return send(res, 404, 'not found', 'text/plain; charset=utf-8');
      return sendJson(res, 200, await opts.backend.debugState());
    }
    if (url.pathname.startsWith('/api/') || url.pathname === WS_PATH)
      return send(res, 404, 'not found', 'text/plain; charset=utf-8');
    const file = await readStatic(opts.rendererDir, url.pathname);
    if (!file) {
      if (url.pathname === '/' || url.pathname === '/index.html') {
        return send(
          res,
          503,
          'The renderer is not built: run "npm run build:renderer".',
          'text/plain; charset=utf-8',
        );
      }
      return send(res, 404, 'not found', 'text/plain; charset=utf-8');
    }
    const extra: Record<string, string> = {};
    if (file.type.startsWith('text/html')) {
      extra['Content-Security-Policy'] = contentSecurityPolicy(port);
      // Later requests (assets, images, the WebSocket) authenticate with the cookie, so the page may drop
      // the token from its address bar.
      if (presented.via === 'query') {
        extra['Set-Cookie'] =
          `${cookieName(port)}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
      }
    }
    return send(res, 200, req.method === 'HEAD' ? '' : file.body, file.type, extra);
  };

  const server: Server = createServer((req, res) => {
    handleHttp(req, res).catch((e: unknown) => {
      log(`http: ${String(e)}`);
      if (!res.headersSent) sendJson(res, 500, { code: 'INTERNAL', message: 'internal error' });
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayloadBytes ?? 64 * 1024 * 1024 });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== WS_PATH) return rejectUpgrade(socket, 404, 'Not Found');
    if (!hostAllowed(req, port)) return rejectUpgrade(socket, 421, 'Misdirected Request');
    if (!originAllowed(req, port)) return rejectUpgrade(socket, 403, 'Forbidden');
    const presented = presentedToken(req, port);
    // A wrong token is refused before the upgrade; no token at all may still come as the first message.
    if (presented && !tokensEqual(presented.token, token)) return rejectUpgrade(socket, 401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, presented !== null));
  });

  const onConnection = (ws: WebSocket, preAuthorized: boolean): void => {
    const ctx: CallContext = { origin: 'web', peer: `ws#${nextPeer++}` };
    everyone.add(ws);
    let authed = false;
    const authenticate = (): void => {
      authed = true;
      sockets.add(ws);
      ws.send(JSON.stringify({ type: 'ready' }));
    };
    const timer = preAuthorized
      ? null
      : setTimeout(() => ws.close(WS_CLOSE.unauthorized, 'no token'), opts.authTimeoutMs ?? 10_000);
    if (preAuthorized) authenticate();

    ws.on('message', (data, isBinary) => {
      let msg;
      try {
        const parsed = isBinary ? null : ClientMessageSchema.safeParse(JSON.parse(data.toString()));
        if (!parsed?.success) throw new Error('bad message');
        msg = parsed.data;
      } catch {
        ws.close(authed ? WS_CLOSE.badMessage : WS_CLOSE.unauthorized, 'bad message');
        return;
      }
      if (msg.type === 'auth') {
        if (!tokensEqual(msg.token, token)) {
          ws.close(WS_CLOSE.unauthorized, 'wrong token');
          return;
        }
        if (timer) clearTimeout(timer);
        if (!authed) authenticate();
        else ws.send(JSON.stringify({ type: 'ready' }));
        return;
      }
      if (!authed) {
        ws.close(WS_CLOSE.unauthorized, 'authenticate first');
        return;
      }
      const { id, channel, args } = msg;
      void opts.backend.dispatcher.handle(channel, args, ctx).then((result) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'result', id, result }));
      });
    });
    ws.on('close', () => {
      if (timer) clearTimeout(timer);
      sockets.delete(ws);
      everyone.delete(ws);
    });
    ws.on('error', (e) => log(`${ctx.peer}: ${e.message}`));
  };

  const unsubscribe: Unsubscribe = opts.backend.bus.subscribe((channel, payload) => {
    const frame = JSON.stringify({ type: 'event', channel, payload });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(frame);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // 127.0.0.1 only: web mode is for this machine (or an SSH tunnel to it), never the network.
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close: async () => {
      unsubscribe();
      for (const ws of everyone) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
