// `maskroom export coco` and `maskroom import coco`.
import type { Command } from 'commander';
import { exportCoco } from '../../export/coco-export.js';
import { importCoco } from '../../export/coco-import.js';
import { openProject } from '../../store/index.js';
import { progressBar } from './project.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

export function register(program: Command): void {
  const exp =
    program.commands.find((c) => c.name() === 'export') ??
    program.command('export').description('Export a project.');
  exp
    .command('coco')
    .description('Write COCO instances JSON (accepted annotations; RLE masks unless --polygons).')
    .argument('<dir>', 'project folder')
    .argument('<out>', 'output file, e.g. instances.json')
    .option('--polygons', 'segmentation as polygons instead of RLE', false)
    .option('--all', 'include proposed and rejected annotations', false)
    .option('--png-masks <folder>', 'also write 16-bit instance-id PNG masks per image')
    .action(
      async (dir: string, file: string, flags: { polygons: boolean; all: boolean; pngMasks?: string }) => {
        const p = await openProject(dir);
        const bar = progressBar('export');
        try {
          const r = await exportCoco(p, file, {
            segmentation: flags.polygons ? 'polygons' : 'rle',
            all: flags.all,
            pngMasks: flags.pngMasks,
            onProgress: (x) => bar.update(x.done, x.total),
          });
          bar.stop();
          out(
            `wrote ${r.file} (${r.bytes} bytes): ${r.images} images, ${r.categories} categories, ${r.annotations} annotations`,
          );
          if (r.boxOnly) out(`${r.boxOnly} box-only annotation(s) written without segmentation`);
          if (r.rleFallbacks) out(`${r.rleFallbacks} mask(s) too small for a polygon, written as RLE`);
          if (r.pngMasks)
            out(`wrote ${r.pngMasks.files} PNG mask(s) to ${r.pngMasks.folder} (index.json maps the ids)`);
        } finally {
          bar.stop();
          p.close();
        }
      },
    );

  const imp =
    program.commands.find((c) => c.name() === 'import') ??
    program.command('import').description('Import into a project.');
  imp
    .command('coco')
    .description('Import COCO instances JSON (RLE, polygons or boxes); all or nothing.')
    .argument('<dir>', 'project folder')
    .argument('<instances>', 'instances JSON file')
    .action(async (dir: string, file: string) => {
      const p = await openProject(dir);
      try {
        const r = await importCoco(p, file);
        out(
          `images      ${r.images.matched} matched, ${r.images.added} added, ${r.images.notOnDisk} not on disk`,
        );
        out(`categories  ${r.categories.matched} matched, ${r.categories.added} added`);
        out(`annotations ${r.annotations.masks} masks, ${r.annotations.boxOnly} box-only`);
      } finally {
        p.close();
      }
    });
}
