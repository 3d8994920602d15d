// Entry of the engine's worker thread: owns every onnxruntime session; answers WorkerRequests by id.
import { parentPort } from 'node:worker_threads';
import { EngineContext } from './context.js';
import { EngineError, serializeError } from './errors.js';
import type { InitPayload, WorkerRequest, WorkerResponse } from './protocol.js';
import { getOp } from './worker-ops.js';
// Ops register themselves on import. Add new op modules here, one line each:
import './ops-core.js';
import './amg/op.js';

const port = parentPort;
if (!port) throw new Error('main/engine/worker must run in a worker thread');

let ctx: Promise<EngineContext> | null = null;
/** The loaded context, once init has finished. */
let ready: EngineContext | null = null;
/** The fast path's description as last sent to the engine (init's answer, then any change). */
let sentFastPath = '';

async function handle(req: WorkerRequest): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
  if (req.op === 'init') {
    if (ctx) throw new EngineError('internal', 'the worker is already initialized');
    ctx = EngineContext.create(req.payload as InitPayload);
    const c = await ctx.catch((err: unknown) => {
      ctx = null;
      throw err;
    });
    ready = c;
    const fastPath = c.fastPathNow();
    sentFastPath = JSON.stringify(fastPath);
    return {
      value: {
        model: c.model,
        provider: c.provider,
        decoder: c.decoder,
        batchedDecoder: c.batchedDecoder,
        fastPath,
        upscale: c.upscaleInfo,
      },
    };
  }
  if (!ctx) throw new EngineError('internal', `op "${req.op}" before init`);
  return getOp(req.op)(await ctx, req.payload);
}

port.on('message', (req: WorkerRequest) => {
  handle(req).then(
    ({ value, transfer }) => {
      const res: WorkerResponse = { id: req.id, ok: true, value };
      // describe() is answered from the engine's copy: send the fast path along when it changed.
      if (ready) {
        const now = ready.fastPathNow();
        const json = JSON.stringify(now);
        if (json !== sentFastPath) {
          sentFastPath = json;
          res.fastPath = now;
        }
      }
      port.postMessage(res, transfer ?? []);
    },
    (err: unknown) => {
      const res: WorkerResponse = { id: req.id, ok: false, error: serializeError(err) };
      port.postMessage(res);
    },
  );
});
