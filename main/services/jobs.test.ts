import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../common/contracts/index.js';
import { openProject } from '../store/index.js';
import { startTestBackend, type TestBackend } from './testing.js';

let t: TestBackend;
let imageId: number;
beforeAll(async () => {
  t = await startTestBackend({ images: 1 });
  imageId = unwrap(await t.api.images.list()).items[0]!.id;
});
afterAll(async () => {
  await t.close();
});

/** Writes an unfinished auto-annotate job into the (closed) project, as a crash would leave it. */
async function leaveUnfinishedJob(): Promise<number> {
  unwrap(await t.api.projects.close());
  const p = await openProject(t.projectDir);
  try {
    const job = p.jobs.createJob({
      kind: 'autoAnnotate',
      params: { imageIds: [imageId], amg: { pointsPerSide: 4 } },
      total: 1,
    });
    p.jobs.setJobState({ id: job.id, state: 'running' });
    return job.id;
  } finally {
    p.close();
  }
}

describe('Backend: jobs left unfinished by an earlier session', () => {
  it('lists them as paused when the project opens and finishes one on resume', async () => {
    await leaveUnfinishedJob();
    unwrap(await t.api.projects.open({ root: t.projectDir }));
    const [job] = unwrap(await t.api.jobs.list());
    expect(job).toMatchObject({ kind: 'autoAnnotate', state: 'paused', done: 0, total: 1 });
    unwrap(await t.api.jobs.resume({ jobId: job!.id }));
    expect(await t.backend.settleJob(job!.id)).toMatchObject({ state: 'done', done: 1 });
    expect(
      unwrap(await t.api.annotations.list({ imageId })).some(
        (a) => a.status === 'proposed' && a.source === 'auto',
      ),
    ).toBe(true);
    // Finished: not offered again.
    unwrap(await t.api.projects.close());
    unwrap(await t.api.projects.open({ root: t.projectDir }));
    expect(unwrap(await t.api.jobs.list()).filter((j) => j.state === 'paused')).toEqual([]);
  });

  it('keeps offering one that was not resumed before the project closed', async () => {
    await leaveUnfinishedJob();
    unwrap(await t.api.projects.open({ root: t.projectDir }));
    expect(unwrap(await t.api.jobs.list()).filter((j) => j.state === 'paused')).toHaveLength(1);
    unwrap(await t.api.projects.close());
    unwrap(await t.api.projects.open({ root: t.projectDir }));
    const paused = unwrap(await t.api.jobs.list()).filter((j) => j.state === 'paused');
    expect(paused).toHaveLength(1);
    unwrap(await t.api.jobs.cancel({ jobId: paused[0]!.id }));
  });

  it('forgets one that is cancelled before being resumed', async () => {
    await leaveUnfinishedJob();
    unwrap(await t.api.projects.open({ root: t.projectDir }));
    const paused = unwrap(await t.api.jobs.list()).find((j) => j.state === 'paused')!;
    expect(unwrap(await t.api.jobs.cancel({ jobId: paused.id })).state).toBe('cancelled');
    unwrap(await t.api.projects.close());
    unwrap(await t.api.projects.open({ root: t.projectDir }));
    expect(unwrap(await t.api.jobs.list()).filter((j) => j.state === 'paused')).toEqual([]);
  });
});

describe('Backend: auto-annotate parameters', () => {
  it('passes minMaskArea to AMG as min_mask_region_area: no proposal keeps an island below it', async () => {
    const params = { pointsPerSide: 4, predIouThresh: 0.5, stabilityScoreThresh: 0.5, minMaskArea: 400 };
    const info = unwrap(await t.api.jobs.startAutoAnnotate({ images: { imageIds: [imageId] }, params }));
    expect(await t.backend.settleJob(info.id)).toMatchObject({ state: 'done', done: 1 });
    const proposals = unwrap(await t.api.annotations.list({ imageId })).filter((a) => a.source === 'auto');
    expect(proposals.length).toBeGreaterThan(0);
    for (const a of proposals) expect(a.area).toBeGreaterThanOrEqual(400);
  });
});
