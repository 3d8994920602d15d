import type { Database } from 'better-sqlite3';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches any query function's arguments
type QueryFn = (db: Database, ...args: any[]) => unknown;
type QueryKeys<M> = { [K in keyof M]: M[K] extends QueryFn ? K : never }[keyof M];

/** A query module with its `db` argument bound: `(db, args) => r` becomes `(args) => r`. */
export type Bound<M> = {
  [K in QueryKeys<M>]: M[K] extends (db: Database, ...args: infer A) => infer R ? (...args: A) => R : never;
};

/** Binds every function of a query module (`import * as images from './images.js'`) to one database. */
export function bindModule<M extends object>(db: Database, mod: M): Bound<M> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(mod)) {
    if (typeof fn === 'function')
      out[name] = (...args: unknown[]) => (fn as (...a: unknown[]) => unknown)(db, ...args);
  }
  return out as Bound<M>;
}
