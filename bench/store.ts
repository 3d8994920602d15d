// Project store at scale: 10,000 image rows and 100,000 annotations (10 per image, box-shaped RLE masks
// of 640×480 images). Measures inserting them (one transaction per image, as a job writes), listing the
// annotations of one image (what opening an image in the editor does), and the streaming COCO export,
// with the process's peak memory during the export. `--quick` uses a tenth of the data.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compress, fromBbox, type Rle } from '../common/rle/index.js';
import { exportCoco } from '../main/export/coco-export.js';
import { initProject } from '../main/store/index.js';
import { percentile, type BenchOptions, type SuiteResult } from './types.js';

const W = 640;
const H = 480;
const PER_IMAGE = 10;

/** CPU milliseconds (user + system) of this process since `from`: the machine may be shared, so wall
 * time alone can mislead. */
function cpuMs(from: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(from);
  return +((c.user + c.system) / 1000).toFixed(1);
}

export async function run(opts: BenchOptions): Promise<SuiteResult> {
  const images = opts.quick ? 1_000 : 10_000;
  const annotations = images * PER_IMAGE;
  const dir = mkdtempSync(path.join(tmpdir(), 'maskroom-bench-store-'));
  const rows: SuiteResult['rows'] = [];
  try {
    const project = await initProject(dir);
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

    // Masks are made before timing: the figure is the store's, not the RLE codec's.
    const masks: Rle[] = [];
    for (let i = 0; i < 997; i++) {
      const w = 10 + Math.floor(rand() * 200);
      const h = 10 + Math.floor(rand() * 200);
      const box: [number, number, number, number] = [
        Math.floor(rand() * (W - w)),
        Math.floor(rand() * (H - h)),
        w,
        h,
      ];
      masks.push(compress(fromBbox(box, H, W)));
    }

    let t = performance.now();
    let cpu = process.cpuUsage();
    const imageIds = project.transaction(() => {
      const ids: number[] = [];
      for (let i = 0; i < images; i++) {
        const sha = (BigInt(i) * 0x9e3779b97f4a7c15n).toString(16).padStart(64, '0').slice(-64);
        ids.push(
          project.images.insertImage({
            path: `frames/${String(i).padStart(6, '0')}.jpg`,
            sha256: sha,
            width: W,
            height: H,
          }),
        );
      }
      return ids;
    });
    const imagesMs = performance.now() - t;
    rows.push({
      step: 'insert images (1 transaction)',
      count: images,
      ms: +imagesMs.toFixed(1),
      'cpu ms': cpuMs(cpu),
      'per s': Math.round((images / imagesMs) * 1000),
    });

    const cats = Array.from(
      { length: 10 },
      (_, k) => project.categories.createCategory({ name: `class-${k}` }).id,
    );
    t = performance.now();
    cpu = process.cpuUsage();
    let n = 0;
    for (const imageId of imageIds) {
      project.transaction(() => {
        for (let k = 0; k < PER_IMAGE; k++) {
          project.annotations.createAnnotation({
            imageId,
            categoryId: cats[k]!,
            rle: masks[n++ % masks.length]!,
            source: 'auto',
            state: k % 5 === 4 ? 'proposed' : 'accepted',
            score: 0.5 + (k % 5) / 10,
          });
        }
      });
    }
    const annMs = performance.now() - t;
    rows.push({
      step: `insert annotations (${PER_IMAGE}/image, 1 transaction per image)`,
      count: annotations,
      ms: +annMs.toFixed(1),
      'cpu ms': cpuMs(cpu),
      'per s': Math.round((annotations / annMs) * 1000),
    });

    const lat: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const id = imageIds[Math.floor(rand() * imageIds.length)]!;
      const s = performance.now();
      const list = project.annotations.listAnnotationsByImage({ imageId: id });
      lat.push(performance.now() - s);
      if (list.length !== PER_IMAGE) throw new Error(`image ${id} has ${list.length} annotations`);
    }
    rows.push({
      step: 'list annotations of one image (p50 / p95 ms)',
      count: lat.length,
      ms: +percentile(lat, 50).toFixed(3),
      'p95 ms': +percentile(lat, 95).toFixed(3),
    });

    for (const all of [false, true]) {
      const out = path.join(dir, `instances-${all ? 'all' : 'accepted'}.json`);
      global.gc?.();
      const base = process.memoryUsage();
      let peakRss = base.rss;
      let peakHeap = base.heapUsed;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakHeap = Math.max(peakHeap, m.heapUsed);
      }, 5);
      t = performance.now();
      cpu = process.cpuUsage();
      const rep = await exportCoco(project, out, { all });
      const ms = performance.now() - t;
      clearInterval(sampler);
      rows.push({
        step: `export COCO RLE, streaming (${all ? '--all' : 'accepted'})`,
        count: rep.annotations,
        ms: +ms.toFixed(1),
        'cpu ms': cpuMs(cpu),
        'per s': Math.round((rep.annotations / ms) * 1000),
        'file MB': +(statSync(out).size / 2 ** 20).toFixed(1),
        'peak heap +MB': +((peakHeap - base.heapUsed) / 2 ** 20).toFixed(1),
        'peak rss +MB': +((peakRss - base.rss) / 2 ** 20).toFixed(1),
      });
    }
    const dbMb = statSync(project.dbPath).size / 2 ** 20;
    project.close();
    return {
      rows,
      notes: [
        `${images} images × ${PER_IMAGE} annotations of ${W}×${H}; database ${dbMb.toFixed(1)} MB (+ WAL) on ${tmpdir()}`,
        'peak memory is sampled every 5 ms during the export; "+MB" is above the level before it started',
      ],
      extra: { images, annotations },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
