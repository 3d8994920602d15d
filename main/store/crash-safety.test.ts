// A child importing ../shared/data/bedroom-200 and writing annotations is killed with SIGKILL at random
// moments; the database must stay intact, keep everything the child reported as committed, and let a
// re-run finish the work.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openProject, PROJECT_FILE } from './project.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const BEDROOM = path.resolve(repoRoot, '..', 'shared', 'data', 'bedroom-200');
const HAVE_DATA = existsSync(path.join(BEDROOM, '00000.jpg'));
if (!HAVE_DATA) console.warn(`SKIPPED crash-safety test: ${BEDROOM} not found (the team's shared data)`);

const KILLS = 22;
// Runs stop once KILLS kills happened; the cap only bounds a machine so slow that runs end on their own.
const MAX_RUNS = 40;

interface RunResult {
  lines: string[];
  killed: boolean;
  code: number | null;
}

/**
 * Runs the child and kills it with SIGKILL `kill.ms` after it starts, after it says it opened the
 * project (starting Node with tsx takes most of a second on a busy machine) or after it reported
 * `count` committed images (the work is fast: timing alone would let most runs finish); `null` lets it
 * finish.
 */
function runChild(
  dir: string,
  kill: { ms: number; from: 'spawn' | 'opened' | 'committed'; count?: number } | null,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'crash-child.ts'), dir, BEDROOM, '40'],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    const arm = () => (timer = setTimeout(() => child.kill('SIGKILL'), kill!.ms));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (timer !== null || !kill) return;
      if (kill.from === 'opened' && out.includes('opened\n')) arm();
      if (kill.from === 'committed' && (out.match(/^committed /gm)?.length ?? 0) >= kill.count!) arm();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    if (kill?.from === 'spawn') arm();
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child failed (${code}): ${err}`));
      // Only whole lines count: a line cut by the kill was not fully reported.
      const lines = out.split('\n').slice(0, -1);
      resolve({ lines, killed: signal === 'SIGKILL', code });
    });
  });
}

describe.skipIf(!HAVE_DATA)('crash safety', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'maskroom-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('survives SIGKILL at random moments: intact file, nothing committed lost, re-run completes', async () => {
    const committed = new Map<number, number[]>();
    let kills = 0;
    const phases = { beforeOpen: 0, importing: 0, annotating: 0 };
    // Seeded, so a failure can be replayed.
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

    for (let i = 0; kills < KILLS && i < MAX_RUNS; i++) {
      // A quarter of the kills land anywhere from process start (creating, migrating, opening), the
      // rest during the work (importing, then annotating).
      const r = await runChild(
        dir,
        i % 4 === 0
          ? { ms: Math.floor(rand() * 1500), from: 'spawn' }
          : { ms: Math.floor(rand() * 900), from: 'opened' },
      );
      if (r.killed) kills++;
      if (!r.lines.includes('opened')) phases.beforeOpen++;
      else if (!r.lines.includes('imported')) phases.importing++;
      else phases.annotating++;
      for (const line of r.lines) {
        const m = /^committed (\d+) ([\d,]+)$/.exec(line);
        if (m) committed.set(Number(m[1]), m[2]!.split(',').map(Number));
      }
      if (!existsSync(path.join(dir, PROJECT_FILE))) continue;
      const db = new Database(path.join(dir, PROJECT_FILE));
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.pragma('foreign_key_check')).toEqual([]);
        const present = new Set(db.prepare('SELECT id FROM annotations').pluck().all() as number[]);
        for (const [imageId, ids] of committed) {
          for (const id of ids) expect(present.has(id), `annotation ${id} of image ${imageId}`).toBe(true);
        }
        // Results and the job's item records are written together: never one without the other.
        const orphans = db
          .prepare(
            'SELECT count(*) FROM (SELECT DISTINCT image_id FROM annotations) a WHERE a.image_id NOT IN (SELECT image_id FROM job_items)',
          )
          .pluck()
          .get();
        expect(orphans).toBe(0);
        const job = db.prepare('SELECT done, (SELECT count(*) FROM job_items) AS items FROM jobs').get() as
          { done: number; items: number } | undefined;
        if (job) expect(job.done).toBe(job.items);
      } finally {
        db.close();
      }
    }
    console.log(
      `crash-safety: ${kills} SIGKILLs (phases ${JSON.stringify(phases)}), ${committed.size} images reported committed`,
    );
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(phases.annotating).toBeGreaterThan(0);

    const last = await runChild(dir, null);
    expect(last.killed).toBe(false);
    expect(last.lines.at(-1)).toBe('finished');
    const p = await openProject(dir);
    try {
      expect(p.db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(p.images.imageCounts().total).toBe(200);
      expect(p.annotations.annotationCounts().total).toBe(600);
      for (const img of p.images.listImages()) {
        expect(p.annotations.listAnnotationsByImage({ imageId: img.id })).toHaveLength(3);
      }
      const job = p.jobs.listJobs({ kind: 'crash-test' });
      expect(job).toHaveLength(1);
      expect(job[0]).toMatchObject({ state: 'done', done: 200, total: 200 });
    } finally {
      p.close();
    }
  }, 240_000);
});
