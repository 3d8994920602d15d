// Child process for crash-safety.test.ts: imports a folder, then writes three annotations per image as
// a resumable job, one transaction per image. After each commit it reports the committed ids on stdout
// (synchronously, before going on), so the parent knows what must survive a SIGKILL.
// usage: node --import tsx crash-child.ts <projectDir> <imageFolder> [paceMs]
// paceMs stands in for the model's time per image (SAM takes far longer); without it the whole job
// takes a fraction of a second and most kills would land after the work is done.
import { existsSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { compress, fromBbox } from '../../common/rle/index.js';
import { importFolder } from './import-folder.js';
import { initProject, openProject, PROJECT_FILE } from './project.js';

const [dir, folder, pace = '0'] = process.argv.slice(2) as [string, string, string?];
const paceMs = Number(pace);
const say = (line: string) => writeSync(1, `${line}\n`);

const project = existsSync(path.join(dir, PROJECT_FILE))
  ? await openProject(dir)
  : await initProject(dir, { root: folder });
say('opened');
await importFolder(project, folder, { batchSize: 8 });
say('imported');

const category = project.categories.ensureCategory({ name: 'thing' });
const job =
  project.jobs.listJobs({ kind: 'crash-test' })[0] ??
  project.jobs.createJob({ kind: 'crash-test', total: 0 });
const images = project.images.listImages();
project.jobs.setJobTotal({ id: job.id, total: images.length });
project.jobs.setJobState({ id: job.id, state: 'running' });
const finished = project.jobs.finishedImageIds({ jobId: job.id });

for (const img of images) {
  if (finished.has(img.id)) continue;
  if (paceMs > 0) await sleep(paceMs);
  const ids = project.transaction(() => {
    const out: number[] = [];
    for (let k = 0; k < 3; k++) {
      const box: [number, number, number, number] = [
        10 + k * 50,
        20 + k * 30,
        40 + (img.id % 50),
        30 + k * 10,
      ];
      const rle = compress(fromBbox(box, img.height, img.width));
      out.push(
        project.annotations.createAnnotation({
          imageId: img.id,
          categoryId: category.id,
          rle,
          source: 'auto',
          state: 'proposed',
          score: 0.5 + k / 10,
        }).id,
      );
    }
    project.jobs.finishJobItem({ jobId: job.id, imageId: img.id });
    return out;
  });
  say(`committed ${img.id} ${ids.join(',')}`);
}
project.jobs.setJobState({ id: job.id, state: 'done' });
project.close();
say('finished');
