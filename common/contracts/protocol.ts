// Wire protocol of web mode (one WebSocket, JSON text frames) and two transports: the WebSocket client
// used by the renderer in a browser, and an in-memory transport for tests. See README.md.
import { z } from 'zod';
import type { Unsubscribe } from './core.js';
import type { Transport } from './client.js';
import type { Dispatcher, EventBus } from './dispatch.js';

/** Path of the WebSocket endpoint on the web mode server. */
export const WS_PATH = '/ws';

/** Close codes the server uses (4000–4999 are application codes). */
export const WS_CLOSE = {
  /** Missing or wrong token. */
  unauthorized: 4401,
  /** A frame that is not a protocol message. */
  badMessage: 4400,
} as const;

/** Client → server. `auth` must be first unless the upgrade request carried the token. */
export const ClientMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auth'), token: z.string().max(512) }),
  z.strictObject({
    type: z.literal('call'),
    id: z.number().int().nonnegative(),
    channel: z.string().max(200),
    args: z.unknown(),
  }),
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;

/** Server → client. */
export const ServerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('result'), id: z.number().int().nonnegative(), result: z.unknown() }),
  z.object({ type: z.literal('event'), channel: z.string(), payload: z.unknown() }),
]);
export type ServerMessage = z.infer<typeof ServerMessageSchema>;

/** The parts of a WebSocket both the DOM `WebSocket` and the `ws` package provide. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

// common/ has no DOM or Node types; timers exist in every runtime it runs in.
const timers = globalThis as unknown as {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

export interface WebSocketTransportOptions {
  /** `ws://127.0.0.1:PORT/ws` — in a browser: `` `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws` ``. */
  url: string;
  /** Sent as the first message. Omit when the page's cookie (set by the server) authenticates. */
  token?: string;
  /** Opens a socket: `(url) => new WebSocket(url)`. */
  connect: (url: string) => WebSocketLike;
  /** A call with no answer after this long resolves as TRANSPORT. Default 10 minutes (embedding on CPU). */
  timeoutMs?: number;
}

export interface WebSocketTransport extends Transport {
  /** Resolves once authenticated; rejects if the server closes first (e.g. wrong token). */
  ready(): Promise<void>;
  close(): void;
}

/**
 * A transport over one WebSocket that reconnects on the next call after a drop. Calls made before the
 * server said `ready` are queued. Events are filtered by channel on this side.
 */
export function createWebSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const pending = new Map<number, { resolve: (v: unknown) => void; timer: unknown }>();
  let nextId = 1;
  let socket: WebSocketLike | null = null;
  let readyPromise: Promise<void> | null = null;
  let closedByUser = false;

  const failAll = (message: string): void => {
    for (const [id, p] of pending) {
      timers.clearTimeout(p.timer);
      p.resolve({ ok: false, error: { code: 'TRANSPORT', message } });
      pending.delete(id);
    }
  };

  const open = (): Promise<void> => {
    if (readyPromise) return readyPromise;
    readyPromise = new Promise<void>((resolve, reject) => {
      let isReady = false;
      const ws = options.connect(options.url);
      socket = ws;
      ws.addEventListener('open', () => {
        if (options.token !== undefined) ws.send(JSON.stringify({ type: 'auth', token: options.token }));
      });
      ws.addEventListener('message', (event) => {
        if (typeof event.data !== 'string') return;
        let msg: ServerMessage;
        try {
          const parsed = ServerMessageSchema.safeParse(JSON.parse(event.data));
          if (!parsed.success) return;
          msg = parsed.data;
        } catch {
          return;
        }
        if (msg.type === 'ready') {
          isReady = true;
          resolve();
        } else if (msg.type === 'result') {
          const p = pending.get(msg.id);
          if (p) {
            timers.clearTimeout(p.timer);
            pending.delete(msg.id);
            p.resolve(msg.result);
          }
        } else {
          for (const l of [...(listeners.get(msg.channel) ?? [])]) l(msg.payload);
        }
      });
      ws.addEventListener('close', () => {
        if (socket === ws) {
          socket = null;
          readyPromise = null;
        }
        failAll('connection closed');
        if (!isReady) reject(new Error('connection closed before it was ready (wrong token?)'));
      });
      ws.addEventListener('error', () => {
        // 'close' follows 'error' in both implementations; cleanup happens there.
      });
    });
    // Keep an unobserved rejection (nobody called ready()) from being reported as unhandled.
    readyPromise.catch(() => undefined);
    return readyPromise;
  };

  return {
    ready: () => {
      closedByUser = false;
      return open();
    },
    close: () => {
      closedByUser = true;
      socket?.close(1000, 'client closed');
    },
    async invoke(channel, args) {
      if (closedByUser) return { ok: false, error: { code: 'TRANSPORT', message: 'transport closed' } };
      await open();
      const ws = socket;
      if (!ws) return { ok: false, error: { code: 'TRANSPORT', message: 'not connected' } };
      const id = nextId++;
      return new Promise((resolve) => {
        const timer = timers.setTimeout(() => {
          pending.delete(id);
          resolve({
            ok: false,
            error: { code: 'TRANSPORT', message: `${channel}: no answer in ${timeoutMs} ms` },
          });
        }, timeoutMs);
        pending.set(id, { resolve, timer });
        ws.send(JSON.stringify({ type: 'call', id, channel, args }));
      });
    },
    on(channel, listener): Unsubscribe {
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
      };
    },
  };
}

/**
 * A transport straight into a dispatcher, for tests and for in-process hosts. Arguments, results and
 * events go through JSON so anything that would not survive the wire fails here too.
 */
export function createInMemoryTransport<Ctx>(
  dispatcher: Dispatcher<Ctx>,
  bus: EventBus,
  ctx: Ctx,
): Transport {
  const wire = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
  return {
    invoke: async (channel, args) => wire(await dispatcher.handle(channel, wire(args), ctx)),
    on: (channel, listener) =>
      bus.subscribe((c, payload) => {
        if (c === channel) listener(wire(payload));
      }),
  };
}
