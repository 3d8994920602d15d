// Web Worker entry: pixel work off the UI thread. All logic is in handler.ts (tested in Node).
import { PixelHandler } from './handler.js';
import type { PixelRequest, PixelResponse } from './protocol.js';

const handler = new PixelHandler();
const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<PixelRequest>) => void) | null;
  postMessage(msg: PixelResponse, transfer: Transferable[]): void;
};

scope.onmessage = (ev) => {
  const res = handler.handle(ev.data);
  // RGBA buffers are transferred, not copied: a full-frame mask is megabytes.
  const transfer: Transferable[] =
    res.kind === 'rendered' && res.mask.rgba.byteLength > 0 ? [res.mask.rgba.buffer] : [];
  scope.postMessage(res, transfer);
};
