// Backend side of the contracts: one table from channel to method, a handler per method that validates
// the argument, runs the implementation and turns every outcome into a Result envelope, and a typed
// event bus. Used by the web mode server, the Electron ipcMain handlers and in-memory tests alike.
import type { z } from 'zod';
import { AppError, channelOf, err, type MethodSpec, type Result, type Unsubscribe } from './core.js';
import { describeIssue } from './client.js';
import { contracts, type Contracts, type MaskroomImpl, type ServiceName } from './registry.js';

/** One method of one service with its channel. */
export interface MethodEntry {
  service: ServiceName;
  method: string;
  channel: string;
  spec: MethodSpec;
}

/** Every method channel of every contract, in declaration order. */
export function methodTable(): MethodEntry[] {
  const out: MethodEntry[] = [];
  for (const [service, spec] of Object.entries(contracts)) {
    for (const [name, m] of Object.entries(spec.methods)) {
      out.push({
        service: service as ServiceName,
        method: name,
        channel: channelOf(service, name),
        spec: m as MethodSpec,
      });
    }
  }
  return out;
}

/** Every event channel of every contract with its payload schema. */
export function eventTable(): { service: ServiceName; event: string; channel: string; schema: z.ZodType }[] {
  const out: { service: ServiceName; event: string; channel: string; schema: z.ZodType }[] = [];
  for (const [service, spec] of Object.entries(contracts)) {
    for (const [name, schema] of Object.entries(spec.events)) {
      out.push({
        service: service as ServiceName,
        event: name,
        channel: channelOf(service, name),
        schema: schema as z.ZodType,
      });
    }
  }
  return out;
}

/** Called with errors that are not AppError (bugs); the caller still gets an INTERNAL result. */
export type InternalErrorSink = (channel: string, error: unknown) => void;

/**
 * Wraps one implementation function: validates the raw argument with the method's schema, calls the
 * function, checks its value against the result schema, and never throws.
 */
export function makeMethodHandler<Ctx>(
  channel: string,
  spec: MethodSpec,
  fn: (args: never, ctx: Ctx) => unknown,
  onInternalError?: InternalErrorSink,
): (rawArgs: unknown, ctx: Ctx) => Promise<Result<unknown>> {
  return async (rawArgs, ctx) => {
    const parsed = spec.args.safeParse(rawArgs === undefined ? {} : rawArgs);
    if (!parsed.success) return err('INVALID_ARGUMENT', `${channel}: ${describeIssue(parsed.error)}`);
    let value: unknown;
    try {
      value = await fn(parsed.data as never, ctx);
    } catch (e) {
      if (e instanceof AppError) return { ok: false, error: e.toData() };
      onInternalError?.(channel, e);
      return err('INTERNAL', `${channel}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const checked = spec.result.safeParse(value);
    if (!checked.success) {
      onInternalError?.(channel, checked.error);
      return err('INTERNAL', `${channel}: result breaks the contract: ${describeIssue(checked.error)}`);
    }
    return { ok: true, value: checked.data };
  };
}

/** Routes `(channel, args)` to the implementation. */
export interface Dispatcher<Ctx> {
  has(channel: string): boolean;
  handle(channel: string, rawArgs: unknown, ctx: Ctx): Promise<Result<unknown>>;
}

/** Builds a dispatcher over a full implementation of every contract. */
export function createDispatcher<Ctx>(
  impl: MaskroomImpl<Ctx>,
  onInternalError?: InternalErrorSink,
): Dispatcher<Ctx> {
  const handlers = new Map<string, (rawArgs: unknown, ctx: Ctx) => Promise<Result<unknown>>>();
  for (const entry of methodTable()) {
    const service = impl[entry.service] as Record<string, (args: never, ctx: Ctx) => unknown>;
    const fn = service[entry.method];
    if (typeof fn !== 'function') throw new Error(`backend: ${entry.channel} has no handler in this backend`);
    handlers.set(
      entry.channel,
      makeMethodHandler(entry.channel, entry.spec, fn.bind(service), onInternalError),
    );
  }
  return {
    has: (channel) => handlers.has(channel),
    handle: async (channel, rawArgs, ctx) => {
      const h = typeof channel === 'string' ? handlers.get(channel) : undefined;
      if (!h) return err('UNKNOWN_METHOD', `unknown channel ${String(channel).slice(0, 100)}`);
      return h(rawArgs, ctx);
    },
  };
}

type EventsOf<S extends ServiceName> = Contracts[S]['events'];

/** Typed publish / subscribe of contract events; payloads are validated on emit. */
export interface EventBus {
  emit<S extends ServiceName, E extends keyof EventsOf<S> & string>(
    service: S,
    event: E,
    payload: z.input<EventsOf<S>[E]>,
  ): void;
  /** Receives every event as (channel, payload): what transports forward. */
  subscribe(listener: (channel: string, payload: unknown) => void): Unsubscribe;
}

/** Creates an event bus. A listener that throws is isolated from the others. */
export function createEventBus(onListenerError?: (e: unknown) => void): EventBus {
  const listeners = new Set<(channel: string, payload: unknown) => void>();
  return {
    emit(service, event, payload) {
      const schema = (contracts[service].events as Record<string, z.ZodType>)[event];
      if (!schema) throw new Error(`event bus: unknown event ${service}.${event}`);
      const data = schema.parse(payload);
      const channel = channelOf(service, event);
      for (const l of [...listeners]) {
        try {
          l(channel, data);
        } catch (e) {
          onListenerError?.(e);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
