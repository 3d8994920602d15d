// Background jobs (auto-annotation, box-to-mask, exports…): their state and progress, and which images
// each has finished, so a resumed job skips them.
import type { Database } from 'better-sqlite3';
import { StoreError } from './errors.js';
import { sql } from './sql.js';

export type JobState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';
const JOB_STATES: readonly JobState[] = ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'];

/** A job as stored. `params` is whatever JSON the job kind needs. */
export interface Job {
  id: number;
  kind: string;
  params: unknown;
  state: JobState;
  done: number;
  total: number;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

interface JobRow {
  id: number;
  kind: string;
  params_json: string;
  state: JobState;
  done: number;
  total: number;
  error: string | null;
  created_at: number;
  updated_at: number;
}

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    kind: r.kind,
    params: JSON.parse(r.params_json) as unknown,
    state: r.state,
    done: r.done,
    total: r.total,
    error: r.error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Creates a queued job; returns it. */
export function createJob(
  db: Database,
  args: { kind: string; params?: unknown; total?: number; now?: number },
): Job {
  if (!args.kind) throw new StoreError('INVALID_ARGUMENT', 'a job needs a kind');
  const now = args.now ?? Date.now();
  const id = Number(
    sql(db, 'INSERT INTO jobs (kind, params_json, total, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(
      args.kind,
      JSON.stringify(args.params ?? {}),
      args.total ?? 0,
      now,
      now,
    ).lastInsertRowid,
  );
  return getJob(db, id)!;
}

/** The job with this id, or undefined. */
export function getJob(db: Database, id: number): Job | undefined {
  const r = sql(db, 'SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  return r && toJob(r);
}

/** Jobs, newest first, optionally only some states or one kind. */
export function listJobs(db: Database, args: { states?: JobState[]; kind?: string } = {}): Job[] {
  const states = args.states ?? JOB_STATES;
  return (
    sql(
      db,
      `SELECT * FROM jobs WHERE state IN (${states.map(() => '?').join(', ')}) AND (? IS NULL OR kind = ?) ORDER BY id DESC`,
    ).all(...states, args.kind ?? null, args.kind ?? null) as JobRow[]
  ).map(toJob);
}

/** Moves a job to another state (with an error message for `failed`). */
export function setJobState(
  db: Database,
  args: { id: number; state: JobState; error?: string | null; now?: number },
): void {
  if (!JOB_STATES.includes(args.state))
    throw new StoreError('INVALID_ARGUMENT', `unknown job state "${String(args.state)}"`);
  const info = sql(db, 'UPDATE jobs SET state = ?, error = ?, updated_at = ? WHERE id = ?').run(
    args.state,
    args.error ?? null,
    args.now ?? Date.now(),
    args.id,
  );
  if (info.changes === 0) throw new StoreError('NOT_FOUND', `job ${args.id} does not exist`);
}

/** Sets the number of items the job will process. */
export function setJobTotal(db: Database, args: { id: number; total: number; now?: number }): void {
  sql(db, 'UPDATE jobs SET total = ?, updated_at = ? WHERE id = ?').run(
    args.total,
    args.now ?? Date.now(),
    args.id,
  );
}

/**
 * Records that the job finished one image (done or failed) and counts it in `done`. Idempotent: an
 * image already recorded is not counted twice. Call it in the same transaction as the item's results, so
 * a crash leaves either both or neither.
 */
export function finishJobItem(
  db: Database,
  args: { jobId: number; imageId: number; state?: 'done' | 'failed'; error?: string | null; now?: number },
): boolean {
  const now = args.now ?? Date.now();
  return db.transaction(() => {
    const info = sql(
      db,
      'INSERT OR IGNORE INTO job_items (job_id, image_id, state, error, finished_at) VALUES (?, ?, ?, ?, ?)',
    ).run(args.jobId, args.imageId, args.state ?? 'done', args.error ?? null, now);
    if (info.changes === 0) return false;
    sql(db, 'UPDATE jobs SET done = done + 1, updated_at = ? WHERE id = ?').run(now, args.jobId);
    return true;
  })();
}

/** Ids of the images this job has already finished (done or failed). */
export function finishedImageIds(db: Database, args: { jobId: number }): Set<number> {
  const rows = sql(db, 'SELECT image_id FROM job_items WHERE job_id = ?').pluck().all(args.jobId) as number[];
  return new Set(rows);
}

/** Items the job failed on, with their errors. */
export function failedJobItems(
  db: Database,
  args: { jobId: number },
): { imageId: number; error: string | null }[] {
  return sql(
    db,
    "SELECT image_id AS imageId, error FROM job_items WHERE job_id = ? AND state = 'failed' ORDER BY image_id",
  ).all(args.jobId) as { imageId: number; error: string | null }[];
}

/** Deletes a job and its item records. */
export function removeJob(db: Database, args: { id: number }): void {
  sql(db, 'DELETE FROM jobs WHERE id = ?').run(args.id);
}
