// The labeling workflow end to end, in one browser page against the real backend: new project, import,
// click → mask checked against ground truth, accept with a category, undo/redo, reload, negative point,
// box, brush, review of proposals, COCO export validated on disk.
import { expect, test, type Page } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decode } from '../common/rle/index.js';
import {
  annotations,
  area,
  bbox,
  clickImage,
  createProjectWithShapes,
  decodeRle,
  dragBox,
  env,
  groundTruth,
  instanceMask,
  instances,
  interiorPoint,
  iou,
  openImage,
  shot,
  toClient,
} from './helpers.js';

test.describe.configure({ mode: 'serial' });

let page: Page;
const SCENE = 'shapes_00';

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
});

test.afterAll(async () => {
  await page.close();
});

test('a fresh project imports the shape scenes and shows them in the grid', async () => {
  await createProjectWithShapes(page, 'workflow');
  await expect(page.getByTestId('thumb').first().locator('img')).toBeVisible();
  await expect(page.getByTestId('thumb').filter({ hasText: `${SCENE}.jpg` })).toContainText('New');
  await shot(page, '01-project-grid');
});

/** Instances of SCENE ordered by how well one click segments them (filled by the first click test). */
let ranked: { k: number; iou: number }[] = [];
/** Pixels of each instance's click mask outside the instance. */
let leaks: { k: number; leak: number }[] = [];

test('a click on a shape shows a mask matching the shape', async () => {
  await openImage(page, `${SCENE}.jpg`);
  const gt = await groundTruth(SCENE);
  const results: { k: number; iou: number }[] = [];
  for (const k of instances(gt)) {
    const truth = instanceMask(gt, k);
    const p = interiorPoint(truth, gt.width, gt.height);
    const rle = await clickImage(page, p.x, p.y);
    const mask = decodeRle(rle, gt.width, gt.height);
    results.push({ k, iou: iou(mask, truth) });
    leaks.push({ k, leak: area(mask.map((v, i) => (v && !truth[i] ? 1 : 0))) });
    await page.keyboard.press('Escape');
  }
  // Mask pixels were rendered by the Web Worker, not the UI-thread fallback.
  expect(await page.evaluate(() => globalThis.__maskroomTest!.pixelWorker())).toBe('worker');
  console.log(`click IoUs on ${SCENE}: ${results.map((r) => `#${r.k} ${r.iou.toFixed(3)}`).join(', ')}`);
  ranked = [...results].sort((a, b) => b.iou - a.iou);
  leaks = leaks.slice(-results.length);
  // The fixture model's median IoU is ~0.93 (shared/README.md); heavily textured, occluded shapes can
  // fall short, so the bar is: the median click and most clicks reach 0.8.
  const sorted = results.map((r) => r.iou).sort((a, b) => a - b);
  expect(sorted[Math.floor(sorted.length / 2)]!).toBeGreaterThanOrEqual(0.8);
  expect(sorted.filter((v) => v >= 0.8).length).toBeGreaterThanOrEqual(Math.ceil(sorted.length * 0.6));
});

test('resting the pointer on a shape previews its mask before any click', async () => {
  const gt = await groundTruth(SCENE);
  const truth = instanceMask(gt, ranked[0]!.k);
  const p = interiorPoint(truth, gt.width, gt.height);
  const at = await toClient(page, p.x, p.y);
  await page.mouse.move(at.x - 3, at.y);
  await page.mouse.move(at.x, at.y, { steps: 3 });
  await expect.poll(() => page.evaluate(() => globalThis.__maskroomTest!.hoverRle() !== null)).toBe(true);
  const hover = await page.evaluate(() => globalThis.__maskroomTest!.hoverRle());
  expect(iou(decodeRle(hover!, gt.width, gt.height), truth)).toBeGreaterThanOrEqual(0.8);
  expect(await page.evaluate(() => globalThis.__maskroomTest!.promptPhase())).toBe('idle');
  // Leaving the image drops the preview.
  await page.mouse.move(5, 5);
  await expect.poll(() => page.evaluate(() => globalThis.__maskroomTest!.hoverRle())).toBeNull();
});

test('Enter accepts the mask with the active category', async () => {
  const gt = await groundTruth(SCENE);
  const k = ranked[0]!.k;
  const truth = instanceMask(gt, k);
  const p = interiorPoint(truth, gt.width, gt.height);

  const cats = page.getByTestId('categories');
  await cats.locator('input[name="categoryName"]').fill('shape');
  await cats.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByTestId('category-shape')).toBeVisible();
  await page.getByTestId('category-shape').click();
  // The category input kept focus; shortcuts must reach the stage.
  await page.locator('.imagebar').click({ position: { x: 300, y: 10 } });

  await clickImage(page, p.x, p.y);
  await shot(page, '02-annotate-candidate');
  await page.keyboard.press('Enter');
  await expect.poll(async () => (await annotations(page)).length).toBe(1);
  const [a] = await annotations(page);
  expect(a!.status).toBe('accepted');
  expect(a!.categoryId).not.toBeNull();
  expect(iou(decodeRle(a!.rle, gt.width, gt.height), truth)).toBeGreaterThanOrEqual(0.8);
  await expect(page.getByTestId('annotation-row')).toHaveCount(1);
  await shot(page, '03-annotate-accepted');
});

test('undo removes the annotation and redo brings it back', async () => {
  await page.keyboard.press('Control+z');
  await expect.poll(async () => (await annotations(page)).length).toBe(0);
  await page.keyboard.press('Control+Shift+Z');
  await expect.poll(async () => (await annotations(page)).length).toBe(1);
});

test('the annotation is still there after reloading the page', async () => {
  const before = await annotations(page);
  await page.reload();
  await expect(page.getByTestId('image-grid')).toBeVisible();
  await expect(page.getByTestId('thumb').filter({ hasText: `${SCENE}.jpg` })).toContainText('1 ann.');
  await openImage(page, `${SCENE}.jpg`);
  await expect
    .poll(async () => (await annotations(page)).map((a) => [a.id, a.rle.counts]))
    .toEqual(before.map((a) => [a.id, a.rle.counts]));
});

test('a negative point shrinks the mask', async () => {
  const gt = await groundTruth(SCENE);
  // The user's case: a click's mask leaks outside the object; a negative point on the leak must take
  // pixels away. The leak is found against ground truth (mask pixels of another instance or background).
  const tried: string[] = [];
  let shrunk = false;
  const byLeak = [...leaks].sort((a, b) => b.leak - a.leak).filter((l) => l.leak >= 200);
  expect(byLeak.length, 'no click mask leaked outside its shape; nothing to exclude').toBeGreaterThan(0);
  for (const { k } of byLeak.slice(0, 3)) {
    const truth = instanceMask(gt, k);
    const p = interiorPoint(truth, gt.width, gt.height);
    const first = decodeRle(await clickImage(page, p.x, p.y), gt.width, gt.height);
    const leak = first.map((v, i) => (v && !truth[i] ? 1 : 0));
    const q = interiorPoint(leak, gt.width, gt.height);
    const second = decodeRle(await clickImage(page, q.x, q.y, { negative: true }), gt.width, gt.height);
    expect(await page.evaluate(() => globalThis.__maskroomTest!.promptLabels())).toEqual([1, 0]);
    tried.push(`#${k}: ${area(first)} → ${area(second)} px`);
    await page.keyboard.press('Escape');
    if (area(second) < area(first) * 0.98) {
      shrunk = true;
      break;
    }
  }
  console.log(`negative point: ${tried.join('; ')}`);
  expect(shrunk).toBe(true);
});

test('a box prompt segments the boxed shape', async () => {
  const gt = await groundTruth(SCENE);
  const k = ranked[2]!.k;
  const truth = instanceMask(gt, k);
  const [x0, y0, x1, y1] = bbox(truth, gt.width, gt.height);
  const rle = await dragBox(page, x0 - 2, y0 - 2, x1 + 2, y1 + 2);
  const v = iou(decodeRle(rle, gt.width, gt.height), truth);
  console.log(`box IoU: ${v.toFixed(3)}`);
  expect(v).toBeGreaterThanOrEqual(0.8);
  await page.keyboard.press('Escape');
});

test('the brush adds pixels to the selected annotation', async () => {
  const gt = await groundTruth(SCENE);
  const [a] = await annotations(page);
  const before = decodeRle(a!.rle, gt.width, gt.height);
  await page.getByTestId('annotation-row').first().locator('.ann-main').click();
  await page.getByTestId('tool-brush').click();
  // Paint a short stroke starting inside the mask and leaving it to the right.
  const p = interiorPoint(before, gt.width, gt.height);
  const [, , x1] = bbox(before, gt.width, gt.height);
  const a0 = await toClient(page, p.x, p.y);
  const a1 = await toClient(page, Math.min(gt.width - 3, x1 + 25), p.y);
  await page.mouse.move(a0.x, a0.y);
  await page.mouse.down();
  await page.mouse.move(a1.x, a1.y, { steps: 12 });
  await page.mouse.up();
  await expect
    .poll(async () => (await annotations(page))[0]!.area, { timeout: 30_000 })
    .toBeGreaterThan(area(before));
  const after = decodeRle((await annotations(page))[0]!.rle, gt.width, gt.height);
  let kept = 0;
  for (let i = 0; i < before.length; i++) if (before[i] && after[i]) kept++;
  expect(kept).toBe(area(before));
  await shot(page, '09-annotate-brush-selected');
  // The eraser takes pixels away again, from inside the mask.
  const painted = (await annotations(page))[0]!.area;
  await page.getByTestId('tool-eraser').click();
  const e0 = await toClient(page, p.x - 10, p.y - 10);
  const e1 = await toClient(page, p.x + 10, p.y + 10);
  await page.mouse.move(e0.x, e0.y);
  await page.mouse.down();
  await page.mouse.move(e1.x, e1.y, { steps: 6 });
  await page.mouse.up();
  await expect
    .poll(async () => (await annotations(page))[0]!.area, { timeout: 30_000 })
    .toBeLessThan(painted);
  await page.keyboard.press('v');
});

test('proposals from auto-annotate are reviewed with the keyboard', async () => {
  // A coarse prompt grid keeps the job short on a CPU.
  await page.getByTestId('review').getByLabel('Prompt grid').selectOption('8');
  await page.getByTestId('review').getByRole('button', { name: 'Auto-annotate' }).click();
  await expect
    .poll(async () => (await annotations(page)).filter((a) => a.status === 'proposed').length, {
      timeout: 150_000,
    })
    .toBeGreaterThan(0);
  await shot(page, '04-review-proposals');
  const proposed = (await annotations(page)).filter((a) => a.status === 'proposed').length;
  const accepted = (await annotations(page)).filter((a) => a.status === 'accepted').length;
  await page.locator('.imagebar').click({ position: { x: 300, y: 10 } });
  await page.keyboard.press('j');
  await page.keyboard.press('y');
  await expect
    .poll(async () => (await annotations(page)).filter((a) => a.status === 'accepted').length)
    .toBe(accepted + 1);
  if (proposed > 1) {
    await page.keyboard.press('n');
    await expect
      .poll(async () => (await annotations(page)).filter((a) => a.status === 'proposed').length)
      .toBe(proposed - 2);
  }
  // Shift+Y accepts every remaining proposal scoring at least the threshold (0.90 by default).
  const now = await annotations(page);
  const good = now.filter((a) => a.status === 'proposed' && (a.score ?? 0) >= 0.9).length;
  const acceptedNow = now.filter((a) => a.status === 'accepted').length;
  await page.keyboard.press('Shift+Y');
  await expect
    .poll(async () => (await annotations(page)).filter((a) => a.status === 'accepted').length)
    .toBe(acceptedNow + good);
  // Whatever is left is rejected in one go.
  if ((await annotations(page)).some((a) => a.status === 'proposed')) {
    await page.getByTestId('review').getByRole('button', { name: 'Reject all' }).click();
  }
  await expect
    .poll(async () => (await annotations(page)).filter((a) => a.status === 'proposed').length)
    .toBe(0);
});

test('annotations are relabeled, hidden and deleted from the list, and deletion undoes', async () => {
  const cats = page.getByTestId('categories');
  await cats.locator('input[name="categoryName"]').fill('other');
  await cats.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByTestId('category-other')).toBeVisible();
  const before = (await annotations(page)).filter((a) => a.status === 'accepted');
  expect(before.length).toBeGreaterThanOrEqual(2);
  const shapeId = before[0]!.categoryId;

  const row = page.getByTestId('annotation-row').first();
  await row.getByLabel('Category').selectOption({ label: 'other' });
  await expect.poll(async () => (await annotations(page))[0]!.categoryId).not.toBe(shapeId);
  // With the annotation selected, key 1 relabels it back to the first category.
  await page.keyboard.press('Escape'); // clears any selection; the row click then selects
  await row.locator('.ann-main').click();
  await expect(row).toHaveClass(/selected/);
  await page.keyboard.press('1');
  await expect.poll(async () => (await annotations(page))[0]!.categoryId).toBe(shapeId);

  await row.getByTitle('Hide').click();
  await expect(row.getByTitle('Show')).toBeVisible();
  await row.getByTitle('Show').click();

  const last = page.getByTestId('annotation-row').last();
  await page.keyboard.press('Escape');
  await last.locator('.ann-main').click();
  await expect(last).toHaveClass(/selected/);
  await page.keyboard.press('Delete');
  await expect(page.getByTestId('annotation-row')).toHaveCount(before.length - 1);
  await page.keyboard.press('Control+z');
  await expect(page.getByTestId('annotation-row')).toHaveCount(before.length);
});

test('the wheel zooms around the pointer and clicks still land on the shape', async () => {
  const gt = await groundTruth(SCENE);
  const truth = instanceMask(gt, ranked[0]!.k);
  const p = interiorPoint(truth, gt.width, gt.height);
  const at = await toClient(page, p.x, p.y);
  const scale = async () => (await toClient(page, p.x + 100, p.y)).x - (await toClient(page, p.x, p.y)).x;
  const before = await scale();
  await page.mouse.move(at.x, at.y);
  await page.mouse.wheel(0, -400);
  await expect.poll(scale).toBeGreaterThan(before * 1.3);
  // Zooming around the pointer keeps the image point under it.
  const after = await toClient(page, p.x, p.y);
  expect(Math.hypot(after.x - at.x, after.y - at.y)).toBeLessThan(3);
  const rle = await clickImage(page, p.x + 1, p.y + 1);
  expect(iou(decodeRle(rle, gt.width, gt.height), truth)).toBeGreaterThanOrEqual(0.8);
  await page.keyboard.press('Escape');
  // Space + drag pans by the drag distance.
  const start = await toClient(page, p.x, p.y);
  await page.mouse.move(start.x, start.y);
  await page.keyboard.down('Space');
  await page.mouse.down();
  await page.mouse.move(start.x - 120, start.y - 60, { steps: 5 });
  await page.mouse.up();
  await page.keyboard.up('Space');
  const moved = await toClient(page, p.x, p.y);
  expect(Math.round(moved.x - start.x)).toBe(-120);
  expect(Math.round(moved.y - start.y)).toBe(-60);
  expect(await page.evaluate(() => globalThis.__maskroomTest!.promptPhase())).toBe('idle');
});

test('D and A move between images, the next ones already embedded', async () => {
  const bar = page.locator('.imagebar');
  await page.keyboard.press('d');
  await expect(bar).toContainText('shapes_01.jpg');
  await expect.poll(() => page.evaluate(() => globalThis.__maskroomTest!.embeddingState())).toBe('ready');
  await expect(page.getByTestId('embedding-state')).toContainText('cached');
  await page.keyboard.press('a');
  await expect(bar).toContainText('shapes_00.jpg');
  await expect.poll(() => page.evaluate(() => globalThis.__maskroomTest!.embeddingState())).toBe('ready');
});

test('the models panel lists the bundled model as active', async () => {
  await page.getByRole('button', { name: 'Models' }).click();
  const panel = page.getByTestId('models-panel');
  await expect(panel).toBeVisible();
  await expect(panel.locator('tr.active')).toContainText('Active');
  await shot(page, '06-models-panel');
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();
});

test('the grid filters by review status and by category', async () => {
  await page.getByLabel('Image status').selectOption('done');
  await page.getByRole('button', { name: 'Images' }).click();
  await expect(page.getByTestId('thumb')).toHaveCount(8);
  await expect(page.getByTestId('thumb').filter({ hasText: 'shapes_00.jpg' })).toContainText('Done');
  await page.getByLabel('Filter by status').selectOption('done');
  await expect(page.getByTestId('thumb')).toHaveCount(1);
  await page.getByLabel('Filter by status').selectOption('');
  await page.getByLabel('Filter by category').selectOption({ label: 'shape' });
  await expect(page.getByTestId('thumb')).toHaveCount(1);
  await expect(page.getByTestId('thumb').first()).toContainText('shapes_00.jpg');
  await page.getByLabel('Filter by category').selectOption('');
  await expect(page.getByTestId('thumb')).toHaveCount(8);
  await shot(page, '07-project-grid-annotated');
});

test('COCO RLE export writes a file that validates', async () => {
  const e = env();
  await page.getByTestId('open-export').click();
  const dialog = page.getByTestId('export-dialog');
  await expect(dialog).toBeVisible();
  const out = path.join(e.work, 'exports', 'coco.json');
  await dialog.locator('input[name="exportPath"]').fill(out);
  await shot(page, '05-export-dialog');
  await dialog.getByTestId('run-export').click();
  await expect(dialog.getByTestId('export-result')).toBeVisible();

  const coco = JSON.parse(readFileSync(out, 'utf8')) as {
    images: { id: number; file_name: string; width: number; height: number }[];
    annotations: {
      id: number;
      image_id: number;
      category_id: number;
      segmentation: { size: [number, number]; counts: string };
      area: number;
      bbox: number[];
      iscrowd: number;
    }[];
    categories: { id: number; name: string }[];
  };
  expect(coco.images.length).toBe(8);
  expect(coco.categories.map((c) => c.name)).toContain('shape');
  expect(coco.annotations.length).toBeGreaterThanOrEqual(1);
  const imgs = new Map(coco.images.map((i) => [i.id, i]));
  for (const a of coco.annotations) {
    const img = imgs.get(a.image_id);
    expect(img, `annotation ${a.id} points at a missing image`).toBeDefined();
    expect(typeof a.segmentation.counts).toBe('string');
    expect(a.segmentation.size).toEqual([img!.height, img!.width]);
    const m = decode(a.segmentation);
    expect(m.length).toBe(img!.width * img!.height);
    let n = 0;
    for (const v of m) n += v;
    expect(n).toBe(a.area);
    expect(a.bbox).toHaveLength(4);
    expect(coco.categories.some((c) => c.id === a.category_id)).toBe(true);
  }

  // The other two formats from the same dialog: COCO polygons and one PNG per annotation.
  const polyOut = path.join(e.work, 'exports', 'coco-polygons.json');
  await dialog.getByText('COCO — polygons').click();
  await dialog.locator('input[name="exportPath"]').fill(polyOut);
  await dialog.getByTestId('run-export').click();
  await expect(dialog.getByTestId('export-result')).toContainText('coco-polygons.json');
  const poly = JSON.parse(readFileSync(polyOut, 'utf8')) as { annotations: { segmentation: number[][] }[] };
  expect(poly.annotations.length).toBe(coco.annotations.length);
  for (const a of poly.annotations) {
    expect(Array.isArray(a.segmentation)).toBe(true);
    expect(a.segmentation[0]!.length).toBeGreaterThanOrEqual(6);
  }
  const pngOut = path.join(e.work, 'exports', 'masks');
  await dialog.getByText('PNG masks').click();
  await dialog.locator('input[name="exportPath"]').fill(pngOut);
  await dialog.getByTestId('run-export').click();
  await expect(dialog.getByTestId('export-result')).toContainText('masks');
  // One instance-id PNG per image, and an index naming each value's annotation.
  const index = JSON.parse(readFileSync(path.join(pngOut, 'index.json'), 'utf8')) as {
    images: { mask: string; instances: { annotation_id: number }[] }[];
  };
  expect(index.images.length).toBe(coco.images.length);
  expect(index.images.flatMap((i) => i.instances).length).toBe(coco.annotations.length);
  for (const i of index.images)
    expect(readdirSync(path.dirname(path.join(pngOut, i.mask)))).toContain(path.basename(i.mask));
  await page.keyboard.press('Escape');
});
