// The transport-agnostic client. A transport moves `(channel, args)` to the backend and back, and
// delivers events; this file turns it into the typed `MaskroomApi`, validating what goes out (cheap
// early errors) and what comes back (a backend that breaks the contract is reported, not trusted).
import type { z } from 'zod';
import { contracts, type MaskroomApi } from './registry.js';
import {
  AppErrorDataSchema,
  channelOf,
  err,
  listenerName,
  type Result,
  type ServiceSpec,
  type Unsubscribe,
} from './core.js';

/** Moves calls and events. Implemented by the WebSocket client, the Electron preload, in-memory tests. */
export interface Transport {
  /** Sends one call; resolves with the raw result envelope (never rejects on backend errors). */
  invoke(channel: string, args: unknown): Promise<unknown>;
  /** Subscribes to an event channel. */
  on(channel: string, listener: (payload: unknown) => void): Unsubscribe;
}

/** Turns a raw envelope into a Result whose value matches the schema, or a BAD_RESPONSE error. */
export function checkResult<T extends z.ZodType>(
  schema: T,
  raw: unknown,
  channel: string,
): Result<z.output<T>> {
  if (typeof raw !== 'object' || raw === null || !('ok' in raw)) {
    return err('BAD_RESPONSE', `${channel}: response is not a result envelope`);
  }
  const env = raw as { ok: unknown; value?: unknown; error?: unknown };
  if (env.ok === false) {
    const e = AppErrorDataSchema.safeParse(env.error);
    return e.success ? { ok: false, error: e.data } : err('BAD_RESPONSE', `${channel}: malformed error`);
  }
  if (env.ok !== true) return err('BAD_RESPONSE', `${channel}: response is not a result envelope`);
  const v = schema.safeParse(env.value);
  if (!v.success) return err('BAD_RESPONSE', `${channel}: ${v.error.issues[0]?.message ?? 'bad value'}`);
  return { ok: true, value: v.data };
}

/** Formats the first zod issue as `field: message`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid argument';
  const at = issue.path.length > 0 ? issue.path.join('.') : 'args';
  return `${at}: ${issue.message}`;
}

/** Builds the typed client of one service over a transport. */
export function createServiceClient<S extends ServiceSpec>(
  spec: S,
  transport: Transport,
): Record<string, unknown> {
  const client: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(spec.methods)) {
    const channel = channelOf(spec.name, name);
    client[name] = async (args: unknown = {}): Promise<Result<unknown>> => {
      const parsed = m.args.safeParse(args);
      if (!parsed.success) return err('INVALID_ARGUMENT', `${channel}: ${describeIssue(parsed.error)}`);
      let raw: unknown;
      try {
        // Send what the caller gave, not the parsed output: the backend applies defaults itself.
        raw = await transport.invoke(channel, args);
      } catch (e) {
        return err('TRANSPORT', `${channel}: ${e instanceof Error ? e.message : String(e)}`);
      }
      return checkResult(m.result, raw, channel);
    };
  }
  for (const [name, schema] of Object.entries(spec.events)) {
    const channel = channelOf(spec.name, name);
    client[listenerName(name)] = (listener: (payload: unknown) => void): Unsubscribe =>
      transport.on(channel, (payload) => {
        const p = schema.safeParse(payload);
        // A malformed event is dropped: listeners are typed and must not see it.
        if (p.success) listener(p.data);
      });
  }
  return client;
}

/** The typed API over any transport. */
export function createClient(transport: Transport): MaskroomApi {
  const api: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(contracts)) api[key] = createServiceClient(spec, transport);
  return api as MaskroomApi;
}
