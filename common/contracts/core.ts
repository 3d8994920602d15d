// The building blocks of every cross-process contract: a service is a name, methods (zod schemas for the
// argument object and the result) and events (a zod schema for the payload). Channel names are derived
// here and nowhere else, so a method can never be typed twice with two spellings.
import { z } from 'zod';

/** Every error that crosses a process boundary carries one of these codes. */
export const ERROR_CODES = [
  /** The argument failed its schema (wrong type, out of range, unknown field). */
  'INVALID_ARGUMENT',
  /** No project is open, but the method needs one. */
  'NO_PROJECT',
  /** The id does not name an existing row / model / job. */
  'NOT_FOUND',
  /** A path argument resolves outside the allowed roots (`..` or symlink escape). */
  'PATH_OUTSIDE_ROOT',
  /** The request conflicts with current state (duplicate name, project already exists, job finished). */
  'CONFLICT',
  /** This host cannot do that (e.g. a native folder picker in web mode). */
  'UNSUPPORTED',
  /** The SAM engine failed (model load, inference). */
  'ENGINE_ERROR',
  /** A file could not be read or written. */
  'IO_ERROR',
  /** The operation was cancelled. */
  'CANCELLED',
  /** A downloaded file did not match its sha256. */
  'CHECKSUM_MISMATCH',
  /** The caller is not allowed (bad token, untrusted sender). */
  'UNAUTHORIZED',
  /** The transport failed (connection closed, timeout). Produced on the client side only. */
  'TRANSPORT',
  /** The other side answered something that does not match the contract. Client side only. */
  'BAD_RESPONSE',
  /** Unknown channel. */
  'UNKNOWN_METHOD',
  /** A bug on the backend; the message says what. */
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const ErrorCodeSchema = z.enum(ERROR_CODES);

/** The error half of a {@link Result}: data, never an exception, once it has crossed a boundary. */
export const AppErrorDataSchema = z.object({ code: ErrorCodeSchema, message: z.string() });
export type AppErrorData = z.infer<typeof AppErrorDataSchema>;

/** What every method returns across a boundary. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: AppErrorData };

/** Thrown inside the backend to produce a typed `{ok:false}` result; never crosses a boundary itself. */
export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
  }
  toData(): AppErrorData {
    return { code: this.code, message: this.message };
  }
}

/** Builds a success result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** Builds a failure result. */
export function err(code: ErrorCode, message: string): Result<never> {
  return { ok: false, error: { code, message } };
}

/** Returns the value of a result or throws an {@link AppError} with its code. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new AppError(result.error.code, result.error.message);
}

/** One method: the schema of its single argument object and of its result value. */
export interface MethodSpec<A extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly args: A;
  readonly result: R;
  /** One line for docs and error messages. */
  readonly doc: string;
}

/** Declares a method. Arguments are always one object so they can grow without breaking callers. */
export function method<A extends z.ZodType, R extends z.ZodType>(spec: {
  args: A;
  result: R;
  doc: string;
}): MethodSpec<A, R> {
  return spec;
}

export type MethodMap = Record<string, MethodSpec>;
export type EventMap = Record<string, z.ZodType>;

/** A service contract. `name` is the first half of every channel of the service. */
export interface ServiceSpec<
  N extends string = string,
  M extends MethodMap = MethodMap,
  E extends EventMap = EventMap,
> {
  readonly name: N;
  readonly methods: M;
  readonly events: E;
}

const NAME = /^[a-z][A-Za-z0-9]*$/;

/**
 * Declares a service. Throws at module load on a malformed name or on a method and an event sharing a
 * name, since both map to `app:<service>.<name>`.
 */
export function defineService<const N extends string, M extends MethodMap, E extends EventMap>(
  name: N,
  spec: { methods: M; events: E },
): ServiceSpec<N, M, E> {
  if (!NAME.test(name)) throw new Error(`contract: bad service name "${name}"`);
  for (const key of [...Object.keys(spec.methods), ...Object.keys(spec.events)]) {
    if (!NAME.test(key)) throw new Error(`contract: bad member name "${name}.${key}"`);
  }
  for (const key of Object.keys(spec.events)) {
    if (key in spec.methods) throw new Error(`contract: "${name}.${key}" is both a method and an event`);
  }
  return { name, methods: spec.methods, events: spec.events };
}

/** The channel of a method or an event: `app:<service>.<member>`. The only place channels are spelled. */
export function channelOf(service: string, member: string): string {
  return `app:${service}.${member}`;
}

/** `progress` → `onProgress`: the name under which clients and the preload expose an event. */
export function listenerName<K extends string>(event: K): `on${Capitalize<K>}` {
  return `on${event.charAt(0).toUpperCase()}${event.slice(1)}` as `on${Capitalize<K>}`;
}

export type Unsubscribe = () => void;

type ArgsIn<M extends MethodSpec> = z.input<M['args']>;
type ValueOut<M extends MethodSpec> = z.output<M['result']>;

/** `{}`-like argument objects (every field optional) may be omitted by the caller. */
type CallArgs<A> = Record<never, never> extends A ? [args?: A] : [args: A];

/** The client-side shape of one service: one async function per method and `onX(cb)` per event. */
export type ServiceClient<S extends ServiceSpec> = {
  [K in keyof S['methods']]: (
    ...args: CallArgs<ArgsIn<S['methods'][K]>>
  ) => Promise<Result<ValueOut<S['methods'][K]>>>;
} & {
  [K in keyof S['events'] & string as `on${Capitalize<K>}`]: (
    listener: (payload: z.output<S['events'][K]>) => void,
  ) => Unsubscribe;
};

/** What a backend provides for one service: a function per method returning the value or throwing AppError. */
export type ServiceImpl<S extends ServiceSpec, Ctx = unknown> = {
  [K in keyof S['methods']]: (
    args: z.output<S['methods'][K]['args']>,
    ctx: Ctx,
  ) => Promise<z.input<S['methods'][K]['result']>> | z.input<S['methods'][K]['result']>;
};

/** Payload type of an event of a service. */
export type EventPayload<S extends ServiceSpec, K extends keyof S['events']> = z.output<S['events'][K]>;

/** Argument (input) type of a method. */
export type MethodArgs<S extends ServiceSpec, K extends keyof S['methods']> = z.input<
  S['methods'][K]['args']
>;

/** Result value (output) type of a method. */
export type MethodValue<S extends ServiceSpec, K extends keyof S['methods']> = z.output<
  S['methods'][K]['result']
>;
