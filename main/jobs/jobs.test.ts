import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iou, toBbox } from '../../common/rle/index.js';
import { loadInstanceMasks } from '../engine/amg/eval.js';
import { fixtureModelDir, fixtureShapesDir, SamEngine } from '../engine/index.js';
import {
  importFolder,
  initProject,
  jobsQueries,
  openDatabase,
  openProject,
  type Project,
} from '../store/index.js';
import {
  findResumableJob,
  resumeJob,
  startAutoAnnotate,
  startBoxesToMasks,
  JobError,
  type JobProgress,
} from './index.js';

// Few prompts per image keep these tests short: they check the job machinery, not mask quality (the AMG
// recall test does that). 2×2 points with relaxed filters still give a few proposals per scene.
const AMG = { pointsPerSide: 2, predIouThresh: 0.5, stabilityScoreThresh: 0.5 };
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const tmp: string[] = [];
async function makeProject(n: number): Promise<Project> {
  const dir = mkdtempSync(path.join(tmpdir(), 'maskroom-jobs-'));
  tmp.push(dir);
  mkdirSync(path.join(dir, 'imgs'));
  for (let i = 0; i < n; i++)
    copyFileSync(
      path.join(fixtureShapesDir(), `shapes_0${i}.jpg`),
      path.join(dir, 'imgs', `shapes_0${i}.jpg`),
    );
  const p = await initProject(dir);
  await importFolder(p, path.join(dir, 'imgs'));
  return p;
}

let engine: SamEngine;
beforeAll(async () => {
  engine = await SamEngine.create({ modelDir: fixtureModelDir(), provider: 'cpu', cacheDir: false });
});
afterAll(async () => {
  await engine?.close();
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('auto-annotate job', () => {
  it('proposes masks for the images matching the glob, with scores and progress events', async () => {
    const p = await makeProject(3);
    const events: JobProgress[] = [];
    const h = startAutoAnnotate(p, engine, { glob: 'imgs/shapes_0[01].jpg', amg: AMG });
    h.onProgress((e) => events.push(e));
    const fin = await h.done;
    expect(fin.state).toBe('done');
    expect(fin.done).toBe(2);
    expect(fin.total).toBe(2);
    expect(fin.failed).toBe(0);
    expect(fin.imagesPerSecond).toBeGreaterThan(0);
    expect(fin.etaSeconds).toBe(0);
    expect(events[0]!.state).toBe('running');
    expect(events.at(-1)!.state).toBe('done');
    expect(p.jobs.getJob(h.id)!.state).toBe('done');

    const imgs = p.images.listImages();
    const per = imgs.map((img) => p.annotations.listAnnotationsByImage({ imageId: img.id }));
    expect(per[0]!.length).toBeGreaterThan(0);
    expect(per[1]!.length).toBeGreaterThan(0);
    expect(per[2]).toEqual([]); // not matched by the glob
    for (const a of [...per[0]!, ...per[1]!]) {
      expect(a).toMatchObject({ source: 'auto', state: 'proposed', boxOnly: false, fromBoxId: null });
      expect(a.predictedIou).toBeGreaterThan(0.5);
      expect(a.score).toBeGreaterThanOrEqual(0.5);
    }
    expect(p.categories.getCategory(per[0]![0]!.categoryId)!.name).toBe('object');
    p.close();
  });

  it('re-running replaces only earlier proposals and never touches accepted work', async () => {
    const p = await makeProject(1);
    const img = p.images.listImages()[0]!;
    await startAutoAnnotate(p, engine, { amg: AMG }).done;
    const first = p.annotations.listAnnotationsByImage({ imageId: img.id });
    expect(first.length).toBeGreaterThan(1);
    const accepted = first[0]!;
    p.annotations.setAnnotationState({ ids: [accepted.id], state: 'accepted' });

    const rerunAt = Date.now();
    const fin = await startAutoAnnotate(p, engine, { amg: AMG }).done;
    expect(fin.state).toBe('done');
    const second = p.annotations.listAnnotationsByImage({ imageId: img.id });
    const kept = second.find((a) => a.id === accepted.id)!;
    expect(kept.state).toBe('accepted');
    expect(kept.rle).toEqual(accepted.rle);
    const proposals = second.filter((a) => a.state === 'proposed');
    // every earlier proposal is gone (SQLite may reuse their ids), replaced by the new run's
    expect(proposals.every((a) => a.createdAt >= rerunAt)).toBe(true);
    expect(proposals.length).toBe(first.length - 1);
    // the accepted mask is not proposed again
    expect(proposals.every((a) => iou(a.rle!, accepted.rle!) < 0.9)).toBe(true);
    p.close();
  });

  it('pauses between images, resumes, and cancels keeping finished images', async () => {
    const p = await makeProject(3);
    const h = startAutoAnnotate(p, engine, { amg: AMG });
    const states: string[] = [];
    let pausedAt = -1;
    await new Promise<void>((resolve) => {
      h.onProgress((e) => {
        states.push(e.state);
        if (e.state === 'running' && e.done === 1 && pausedAt < 0) {
          pausedAt = e.done;
          h.pause();
        }
        if (e.state === 'paused') {
          expect(p.jobs.getJob(h.id)!.state).toBe('paused');
          resolve();
        }
      });
    });
    expect(h.progress().done).toBe(1);
    h.resume();
    await new Promise<void>((resolve) => {
      const off = h.onProgress((e) => {
        if (e.done === 2) {
          h.cancel();
          off();
          resolve();
        }
      });
    });
    const fin = await h.done;
    expect(fin.state).toBe('cancelled');
    expect(fin.done).toBe(2);
    expect(states).toContain('paused');
    expect(p.jobs.finishedImageIds({ jobId: h.id }).size).toBe(2);
    expect(() => resumeJob(p, engine, h.id)).toThrow(JobError);
    p.close();
  });

  it('records an unreadable image as failed and goes on', async () => {
    const p = await makeProject(2);
    // Replace one file with garbage after import: the job must fail that image only.
    const bad = p.images.listImages()[0]!;
    rmSync(p.imagePath(bad.path));
    copyFileSync(path.join(ROOT, 'package.json'), p.imagePath(bad.path));
    const fin = await startAutoAnnotate(p, engine, { amg: AMG }).done;
    expect(fin.state).toBe('done');
    expect(fin.done).toBe(2);
    expect(fin.failed).toBe(1);
    const failed = p.jobs.failedJobItems({ jobId: fin.jobId });
    expect(failed.map((f) => f.imageId)).toEqual([bad.id]);
    expect(failed[0]!.error).toMatch(/unsupported_format|corrupt/);
    p.close();
  });

  it('embeds the next image while the current one is processed, encoding each image once', async () => {
    const p = await makeProject(3);
    const own = await SamEngine.create({ modelDir: fixtureModelDir(), provider: 'cpu', cacheDir: false });
    try {
      const embedded: string[] = [];
      const embed = own.embed.bind(own);
      own.embed = (image) => {
        embedded.push(path.basename(String(image)));
        return embed(image);
      };
      const fin = await startAutoAnnotate(p, own, { amg: AMG }).done;
      expect(fin.done).toBe(3);
      // Images 2 and 3 were asked for ahead of their turn; the AMG op then found them in the cache.
      expect(embedded).toEqual(['shapes_01.jpg', 'shapes_02.jpg']);
      expect((await own.stats()).encoderRuns).toBe(3);
    } finally {
      await own.close();
    }
  });

  it('rejects bad parameters before creating a job', async () => {
    const p = await makeProject(1);
    expect(() => startAutoAnnotate(p, engine, { amg: { pointsPerSide: 0 } })).toThrow(JobError);
    expect(() => startAutoAnnotate(p, engine, { glob: '' })).toThrow(/glob/);
    expect(p.jobs.listJobs()).toEqual([]);
    p.close();
  });
});

describe('boxes → masks job', () => {
  it('turns box-only annotations into proposed masks that keep the category and link to the box', async () => {
    const p = await makeProject(1);
    const img = p.images.listImages()[0]!;
    const cat = p.categories.ensureCategory({ name: 'shape' });
    const gt = await loadInstanceMasks(path.join(fixtureShapesDir(), 'shapes_00.ids.png'));
    const boxes = gt.instances.map((g) =>
      p.annotations.createAnnotation({
        imageId: img.id,
        categoryId: cat.id,
        bbox: toBbox(g.rle),
        size: [img.height, img.width],
        source: 'imported',
      }),
    );
    const fin = await startBoxesToMasks(p, engine).done;
    expect(fin).toMatchObject({ state: 'done', done: 1, total: 1, failed: 0 });
    const masks = p.annotations.listAnnotationsByImage({ imageId: img.id }).filter((a) => !a.boxOnly);
    for (const m of masks) expect(m).toMatchObject({ source: 'auto', state: 'proposed', categoryId: cat.id });
    // One mask per box at most (an empty mask is not proposed), each linked to its box.
    const ious = boxes.map((b, i) => {
      const linked = masks.filter((m) => m.fromBoxId === b.id);
      expect(linked.length).toBeLessThanOrEqual(1);
      return linked[0] ? iou(linked[0].rle!, gt.instances[i]!.rle) : 0;
    });
    console.log(
      `boxes→masks on shapes_00: mask IoU with GT per box ${ious.map((v) => v.toFixed(2)).join(' ')}`,
    );
    expect(masks.length).toBeGreaterThanOrEqual(boxes.length - 1);
    expect(ious.filter((v) => v >= 0.75).length / ious.length).toBeGreaterThanOrEqual(0.75);

    // Accept one; a second run re-proposes only the others, and the boxes stay.
    p.annotations.setAnnotationState({ ids: [masks[0]!.id], state: 'accepted' });
    await startBoxesToMasks(p, engine).done;
    const after = p.annotations.listAnnotationsByImage({ imageId: img.id });
    expect(after.filter((a) => a.boxOnly).length).toBe(boxes.length);
    expect(after.filter((a) => !a.boxOnly).length).toBe(masks.length);
    expect(after.find((a) => a.id === masks[0]!.id)!.state).toBe('accepted');
    expect(after.filter((a) => a.fromBoxId === masks[0]!.fromBoxId).length).toBe(1);
    p.close();
  });
});

describe('crash resume', () => {
  it('finishes a job killed with SIGKILL mid-run, processing each image exactly once', async () => {
    const p = await makeProject(5);
    const dir = p.dir;
    p.close();
    const args = [
      'auto',
      dir,
      '--provider',
      'cpu',
      '--no-cache',
      '--points-per-side',
      '2',
      '--pred-iou-thresh',
      '0.5',
      '--stability-thresh',
      '0.5',
    ];
    const runCli = () =>
      spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `const { main } = await import(${JSON.stringify(path.join(ROOT, 'main/cli/index.ts'))}); process.exitCode = await main(process.argv.slice(1));`,
          '--',
          ...args,
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );

    // First run: kill it hard once two images are committed.
    const child = runCli();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const db = openDatabase(path.join(dir, 'maskroom.db'), { readonly: true });
    let killedAt = -1;
    for (let i = 0; i < 600 && killedAt < 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const job = jobsQueries.listJobs(db)[0];
      if (job && job.done >= 2) {
        child.kill('SIGKILL');
        killedAt = job.done;
      }
      if (child.exitCode !== null) break;
    }
    await exited;
    expect(killedAt, `the CLI never got two images done: ${stderr}`).toBeGreaterThanOrEqual(2);
    const crashed = jobsQueries.listJobs(db)[0]!;
    db.close();
    expect(crashed.state).toBe('running'); // as a crash leaves it
    expect(crashed.done).toBeLessThan(5);

    const p1 = await openProject(dir);
    const before = new Map(
      p1.images
        .listImages()
        .map((img) => [img.id, p1.annotations.listAnnotationsByImage({ imageId: img.id })]),
    );
    const finishedBefore = p1.jobs.finishedImageIds({ jobId: crashed.id });
    expect(finishedBefore.size).toBe(crashed.done);
    expect(
      findResumableJob(p1, 'autoAnnotate', {
        amg: { pointsPerSide: 2, predIouThresh: 0.5, stabilityScoreThresh: 0.5 },
        decoder: 'auto',
      })?.id,
    ).toBe(crashed.id);
    p1.close();

    // Second run: the same command resumes the job.
    const again = runCli();
    let out = '';
    again.stdout.on('data', (d: Buffer) => (out += d.toString()));
    again.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => again.on('exit', (c) => r(c)));
    expect(code, out).toBe(0);
    expect(out).toContain(`resuming  job ${crashed.id}`);

    const p2 = await openProject(dir);
    const job = p2.jobs.getJob(crashed.id)!;
    expect(job).toMatchObject({ state: 'done', done: 5, total: 5 });
    expect(p2.jobs.listJobs().length).toBe(1);
    const finished = p2.jobs.finishedImageIds({ jobId: crashed.id });
    expect(finished.size).toBe(5);
    let total = 0;
    for (const img of p2.images.listImages()) {
      const anns = p2.annotations.listAnnotationsByImage({ imageId: img.id });
      // at most one annotation set per image: each set is written in one transaction with one timestamp
      expect(new Set(anns.map((a) => a.createdAt)).size).toBeLessThanOrEqual(1);
      total += anns.length;
      if (finishedBefore.has(img.id)) {
        // finished before the kill: not processed again
        expect(anns).toEqual(before.get(img.id));
      } else {
        expect(before.get(img.id)).toEqual([]);
      }
    }
    expect(total).toBeGreaterThan(0);
    p2.close();
  });
});
