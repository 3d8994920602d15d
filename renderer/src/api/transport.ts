// Picks how the renderer reaches the backend: the Electron preload's `window.maskroom` when present,
// else the web-mode WebSocket (token from `?token=` in the page URL). Both give the same MaskroomApi.
import {
  createClient,
  createWebSocketTransport,
  WS_PATH,
  type MaskroomApi,
  type WebSocketLike,
} from '../../../common/contracts/index.js';

export type ConnectionListener = (state: 'open' | 'reconnecting' | 'closed', detail: string | null) => void;

export interface Connection {
  api: MaskroomApi;
  mode: 'electron' | 'web';
  /** Resolves once the backend answered; rejects with a readable message (e.g. a wrong token). */
  ready(): Promise<void>;
  dispose(): void;
}

/** Backoff between reconnect attempts, ms: quick at first, then every few seconds. */
export function reconnectDelay(attempt: number): number {
  return Math.min(5000, 250 * 2 ** Math.min(attempt, 5));
}

/** Reads the web-mode token: `?token=` first, then `#token=`. */
export function tokenFromLocation(loc: { search: string; hash: string }): string | null {
  const q = new URLSearchParams(loc.search).get('token');
  if (q) return q;
  const h = new URLSearchParams(loc.hash.replace(/^#/, '')).get('token');
  return h || null;
}

/** Connects to the backend; `onState` hears drops and reconnects. */
export function connect(onState: ConnectionListener): Connection {
  const preload = (window as unknown as { maskroom?: MaskroomApi }).maskroom;
  if (preload) {
    return { api: preload, mode: 'electron', ready: () => Promise.resolve(), dispose: () => undefined };
  }
  const token = tokenFromLocation(window.location);
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  let disposed = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let everOpen = false;

  const transport = createWebSocketTransport({
    url: `${scheme}://${window.location.host}${WS_PATH}`,
    ...(token ? { token } : {}),
    connect: (url) => {
      const ws = new WebSocket(url);
      ws.addEventListener('close', (ev) => {
        if (disposed) return;
        if (ev.code === 4401) {
          onState(
            'closed',
            'The server refused this session (missing or wrong token). Open the URL the server printed.',
          );
          return;
        }
        if (!everOpen) return;
        onState('reconnecting', 'Connection lost — reconnecting…');
        scheduleReconnect();
      });
      return ws as unknown as WebSocketLike;
    },
  });

  const scheduleReconnect = (): void => {
    if (timer || disposed) return;
    timer = setTimeout(() => {
      timer = null;
      transport.ready().then(
        () => {
          attempt = 0;
          onState('open', null);
        },
        () => {
          attempt++;
          scheduleReconnect();
        },
      );
    }, reconnectDelay(attempt));
  };

  return {
    api: createClient(transport),
    mode: 'web',
    ready: async () => {
      // Without ?token= the server may still accept a session cookie it set; say which case failed.
      await transport.ready().catch(() => {
        throw new Error(
          token
            ? 'Could not connect to the Maskroom server (is it running, and is the token right?).'
            : 'No session token in the URL. Open the address the server printed (it ends with ?token=…).',
        );
      });
      everOpen = true;
      onState('open', null);
    },
    dispose: () => {
      disposed = true;
      if (timer) clearTimeout(timer);
      transport.close();
    },
  };
}
