import sharp from 'sharp';
import path from 'node:path';
import { SamEngine, fixtureModelDir, fixtureShapesDir } from '../../index.js';
import { generateMasks } from '../index.js';
import { decode, iou } from '../../../../common/rle/index.js';
import { encodeCompressed } from '../../../../common/rle/index.js';
const engine = await SamEngine.create({ modelDir: fixtureModelDir(), provider: 'cpu', cacheDir: false });
const pps = Number(process.argv[2] ?? 32);
const extra = JSON.parse(process.argv[3] ?? '{}');
for (const n of ['00', '01']) {
  const img = path.join(fixtureShapesDir(), `shapes_${n}.jpg`);
  const t0 = performance.now();
  const r = await generateMasks(engine, img, { pointsPerSide: pps, ...extra });
  const ms = performance.now() - t0;
  const { data, info } = await sharp(path.join(fixtureShapesDir(), `shapes_${n}.ids.png`)).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
  const ids = new Uint16Array(data.buffer, data.byteOffset, info.width * info.height);
  const maxId = ids.reduce((a, b) => Math.max(a, b), 0);
  const ious: number[] = [];
  for (let k = 1; k <= maxId; k++) {
    const m = Uint8Array.from(ids, (v) => (v === k ? 1 : 0));
    if (!m.some((v) => v)) continue;
    const gt = encodeCompressed(m, info.height, info.width);
    let best = 0;
    for (const mk of r.masks) best = Math.max(best, iou(mk.segmentation, gt));
    ious.push(best);
  }
  console.log(n, info.width, info.height, 'ms', ms.toFixed(0), 'masks', r.masks.length, 'stats', JSON.stringify(r.stats), 'timings', JSON.stringify(r.timings), 'ious', ious.map((v) => v.toFixed(2)).join(' '));
}
await engine.close();
