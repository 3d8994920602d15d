// ipcMain registration: one `handle` per contract method (channels from common/contracts), each checking
// the sender frame and validating the payload (in the dispatcher) before the backend runs anything.
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { err, methodTable, type Dispatcher, type Result } from '../common/contracts/index.js';
import type { CallContext } from '../main/services/host.js';
import type { FrameLike } from './security.js';

/** The part of an invoke event the handler reads. */
export interface InvokeEventLike {
  senderFrame: FrameLike | null;
  sender?: { id: number };
}

/**
 * The handler of one channel: refuses untrusted senders (UNAUTHORIZED, nothing runs), otherwise hands the
 * raw payload to the dispatcher, which validates it against the contract's schema.
 */
export function makeHandler(
  channel: string,
  dispatcher: Dispatcher<CallContext>,
  isTrustedSender: (frame: FrameLike | null) => boolean,
): (event: InvokeEventLike, args: unknown) => Promise<Result<unknown>> {
  return async (event, args) => {
    if (!isTrustedSender(event.senderFrame)) {
      return err('UNAUTHORIZED', `${channel}: caller is not the Maskroom window`);
    }
    return dispatcher.handle(channel, args, {
      origin: 'electron',
      peer: `webContents#${event.sender?.id ?? '?'}`,
    });
  };
}

/** Registers every contract method on ipcMain; returns a disposer that removes them. */
export function registerIpc(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  dispatcher: Dispatcher<CallContext>,
  isTrustedSender: (frame: FrameLike | null) => boolean,
): () => void {
  const channels = methodTable().map((m) => m.channel);
  for (const channel of channels) {
    const h = makeHandler(channel, dispatcher, isTrustedSender);
    ipcMain.handle(channel, (event: IpcMainInvokeEvent, args: unknown) =>
      h(event as unknown as InvokeEventLike, args),
    );
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}
