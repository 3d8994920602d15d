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

async function handle(req: WorkerRequest): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
  if (req.op === 'init') {
    if (ctx) throw new EngineError('internal', 'the worker is already initialized');
    ctx = EngineContext.create(req.payload as InitPayload);
    const c = await ctx.catch((err: unknown) => {
      ctx = null;
      throw err;
    });
    return {
      value: {
        model: c.model,
        provider: c.provider,
        decoder: c.decoder,
        batchedDecoder: c.batchedDecoder,
        fastPath: c.fastPathInfo,
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
      port.postMessage(res, transfer ?? []);
    },
    (err: unknown) => {
      const res: WorkerResponse = { id: req.id, ok: false, error: serializeError(err) };
      port.postMessage(res);
    },
  );
});
