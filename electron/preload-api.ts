// Builds what the preload exposes as `window.maskroom`: exactly the contract methods (one function each)
// and `onX(cb) → unsubscribe` per event, derived from common/contracts. No generic invoke is exposed:
// the IPC functions stay inside the preload's closure.
import { createClient, type MaskroomApi, type Unsubscribe } from '../common/contracts/index.js';

export interface PreloadIpc {
  invoke(channel: string, args: unknown): Promise<unknown>;
  on(channel: string, listener: (payload: unknown) => void): Unsubscribe;
}

/** The API object; every method validates its argument and the answer like any client. */
export function buildPreloadApi(ipc: PreloadIpc): MaskroomApi {
  return createClient({
    invoke: (channel, args) => ipc.invoke(channel, args),
    on: (channel, l) => ipc.on(channel, l),
  });
}
