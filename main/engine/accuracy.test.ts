// Quality on the shapes fixture: one click at each shape's most interior point, and its tight box.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../../common/rle/index.js';
import { fixtureModelDir, fixtureShapesDir, SamEngine, type Prompt } from './index.js';
import {
  type GroundTruth,
  instanceMask,
  interiorPoint,
  loadGroundTruth,
  maskBox,
  maskIou,
  median,
  scenePaths,
  SHAPES_SCENES,
} from './testing.js';

interface Shape {
  scene: string;
  image: string;
  id: number;
  mask: Uint8Array;
  gt: GroundTruth;
}

let engine: SamEngine;
const shapes: Shape[] = [];
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'maskroom-acc-'));
  engine = await SamEngine.create({ modelDir: fixtureModelDir(), provider: 'cpu', cacheDir: false });
  for (const scene of SHAPES_SCENES) {
    const p = scenePaths(fixtureShapesDir(), scene);
    const gt = await loadGroundTruth(p.ids);
    for (const id of gt.instances) shapes.push({ scene, image: p.image, id, mask: instanceMask(gt, id), gt });
  }
});

afterAll(async () => {
  await engine?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function evaluate(label: string, promptFor: (s: Shape) => Prompt): Promise<number[]> {
  const ious: number[] = [];
  for (const s of shapes) {
    const r = await engine.segment(s.image, promptFor(s));
    expect(r.rle.size).toEqual([s.gt.height, s.gt.width]);
    ious.push(maskIou(decode(r.rle), s.mask));
  }
  const med = median(ious);
  const good = ious.filter((v) => v >= 0.8).length / ious.length;
  console.log(
    `${label}: ${ious.length} shapes, median IoU ${med.toFixed(3)}, ${(good * 100).toFixed(1)}% at IoU ≥ 0.8, ` +
      `min ${Math.min(...ious).toFixed(3)}`,
  );
  return ious;
}

describe('segmentation quality on the shapes fixture (full resolution)', () => {
  it('returns the shape under one click at its most interior point', async () => {
    const ious = await evaluate('one click', (s) => {
      const p = interiorPoint(s.mask, s.gt.width, s.gt.height);
      return { points: [{ x: p.x, y: p.y, label: 1 }] };
    });
    expect(ious.length).toBe(shapes.length);
    expect(shapes.length).toBeGreaterThanOrEqual(50);
    expect(median(ious)).toBeGreaterThanOrEqual(0.88);
    expect(ious.filter((v) => v >= 0.8).length / ious.length).toBeGreaterThanOrEqual(0.7);
  }, 600_000);

  it('returns the shape inside a tight box prompt', async () => {
    const ious = await evaluate('tight box', (s) => ({ box: maskBox(s.mask, s.gt.width, s.gt.height) }));
    expect(median(ious)).toBeGreaterThanOrEqual(0.88);
    expect(ious.filter((v) => v >= 0.8).length / ious.length).toBeGreaterThanOrEqual(0.7);
  }, 600_000);

  it('applies EXIF orientation 6: clicks in displayed coordinates select the displayed shape', async () => {
    const scene = shapes.find((s) => s.scene === 'shapes_03')!;
    // Store the scene rotated 90° counter-clockwise and tag it "rotate 90° CW to display" (orientation 6).
    const file = path.join(tmp, 'rotated.jpg');
    await sharp(scene.image).rotate(270).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(file);
    const stored = await sharp(file).metadata();
    expect([stored.width, stored.height, stored.orientation]).toEqual([scene.gt.height, scene.gt.width, 6]);

    const emb = await engine.embed(file);
    expect([emb.width, emb.height, emb.orientation]).toEqual([scene.gt.width, scene.gt.height, 6]);
    const ious: number[] = [];
    for (const s of shapes.filter((x) => x.scene === scene.scene)) {
      const p = interiorPoint(s.mask, s.gt.width, s.gt.height);
      const click: Prompt = { points: [{ x: p.x, y: p.y, label: 1 }] };
      const rotated = decode((await engine.segment(emb.key, click)).rle);
      const upright = decode((await engine.segment(s.image, click)).rle);
      expect(rotated.length).toBe(s.gt.width * s.gt.height);
      // Same object as on the upright file (only JPEG re-encoding differs), and it is the displayed shape.
      expect(maskIou(rotated, upright)).toBeGreaterThanOrEqual(0.95);
      ious.push(maskIou(rotated, s.mask));
    }
    console.log(`EXIF 6 (${scene.scene}): IoU vs displayed GT ${ious.map((v) => v.toFixed(3)).join(' ')}`);
    expect(median(ious)).toBeGreaterThanOrEqual(0.8);
  }, 300_000);
});
