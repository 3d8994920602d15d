// `maskroom project init|import|stats`: create a project, import a folder of images, show counts.
import path from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { importFolder, initProject, openProject, type ImportReport } from '../../store/index.js';

/** A progress bar on stderr when it is a terminal; nothing otherwise (logs and pipes stay clean). */
export function progressBar(label: string): {
  update: (done: number, total: number) => void;
  stop: () => void;
} {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, total) => {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

const out = (line: string) => process.stdout.write(`${line}\n`);

function printImportReport(r: ImportReport): void {
  out(`scanned     ${r.scanned} image file(s)`);
  out(`added       ${r.added.length}`);
  out(`unchanged   ${r.unchanged}`);
  if (r.updated.length)
    out(
      `updated     ${r.updated.length}: ${r.updated.slice(0, 5).join(', ')}${r.updated.length > 5 ? ', …' : ''}`,
    );
  for (const m of r.moved) out(`moved       ${m.from} → ${m.to}`);
  for (const m of r.missing) out(`missing     ${m} (kept, flagged missing)`);
  for (const d of r.duplicates) out(`duplicate   ${d.path} (same content as ${d.sameAs}; skipped)`);
  for (const u of r.unreadable) out(`unreadable  ${u.path}: ${u.reason}`);
}

export function register(program: Command): void {
  const project = program.command('project').description('Create projects and import images.');

  project
    .command('init')
    .description('Create a project (maskroom.db) in <dir>.')
    .argument('<dir>', 'project folder (created if needed)')
    .option('--root <folder>', 'folder images are imported from (default: the project folder)')
    .action(async (dir: string, flags: { root?: string }) => {
      const p = await initProject(dir, { root: flags.root });
      out(`created ${p.dbPath}`);
      out(`root    ${p.root}`);
      p.close();
    });

  project
    .command('import')
    .description('Import (or re-scan) a folder of images into the project: jpg, png, webp, tif, bmp.')
    .argument('<dir>', 'project folder')
    .argument('<folder>', 'image folder inside the project root (searched recursively)')
    .option('--json', 'print the report as JSON', false)
    .action(async (dir: string, folder: string, flags: { json: boolean }) => {
      const p = await openProject(dir);
      const bar = progressBar('import');
      try {
        const r = await importFolder(p, path.resolve(folder), {
          onProgress: (x) => bar.update(x.done, x.total),
        });
        bar.stop();
        if (flags.json) out(JSON.stringify(r));
        else printImportReport(r);
      } finally {
        bar.stop();
        p.close();
      }
    });

  project
    .command('stats')
    .description('Counts of images and annotations by status.')
    .argument('<dir>', 'project folder')
    .option('--json', 'print as JSON', false)
    .action(async (dir: string, flags: { json: boolean }) => {
      const p = await openProject(dir);
      try {
        const s = p.settings.getSettings();
        const images = p.images.imageCounts();
        const annotations = p.annotations.annotationCounts();
        const categories = p.categories.listCategories().length;
        const jobs = p.jobs
          .listJobs()
          .map((j) => ({ id: j.id, kind: j.kind, state: j.state, done: j.done, total: j.total }));
        if (flags.json) {
          out(
            JSON.stringify({
              root: p.root,
              activeModelId: s.activeModelId,
              images,
              annotations,
              categories,
              jobs,
            }),
          );
          return;
        }
        out(`project     ${p.dir}`);
        out(`root        ${p.root}`);
        out(`model       ${s.activeModelId ?? '(none)'}`);
        out(
          `images      ${images.total} (new ${images.new}, in progress ${images.in_progress}, done ${images.done}, skipped ${images.skipped}, missing ${images.missing})`,
        );
        out(
          `annotations ${annotations.total} (accepted ${annotations.accepted}, proposed ${annotations.proposed}, rejected ${annotations.rejected}; box-only ${annotations.boxOnly})`,
        );
        out(`categories  ${categories}`);
        for (const j of jobs) out(`job ${j.id}      ${j.kind} ${j.state} ${j.done}/${j.total}`);
      } finally {
        p.close();
      }
    });
}
