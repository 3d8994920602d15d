// What a transport host (web server, Electron IPC, tests) needs from the backend. Kept apart from the
// Backend class so transports can be tested against any implementation of it.
import type { Dispatcher, EventBus } from '../../common/contracts/index.js';

/** Who is calling; every transport says so, the services may log or branch on it. */
export interface CallContext {
  origin: 'web' | 'electron' | 'test';
  /** Connection / webContents id, for logs. */
  peer: string;
}

/** Image bytes ready for an <img>: orientation applied, a format browsers decode. */
export interface DisplayImage {
  mime: 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif';
  bytes: Buffer;
}

/** The backend as transports see it. */
export interface BackendHost {
  readonly dispatcher: Dispatcher<CallContext>;
  readonly bus: EventBus;
  /** Bytes of an image of the open project for display; throws AppError (NO_PROJECT, NOT_FOUND, …). */
  displayImage(imageId: number): Promise<DisplayImage>;
  /** A read-only snapshot for end-to-end tests (counts, open project, jobs); only served with test hooks on. */
  debugState(): Promise<unknown>;
}
