// Shared steps of the end-to-end specs: the environment run.mjs provides, ground truth of the shape
// scenes, and UI steps that go through the real interface (forms, clicks, keys) only.
import { expect, type Page } from '@playwright/test';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decode } from '../common/rle/index.js';

export interface E2eEnv {
  /** `http://127.0.0.1:PORT/?token=…` */
  url: string;
  base: string;
  port: number;
  token: string;
  /** Temp folder the server may write to; holds `shapes/` (a copy of the fixture scenes). */
  work: string;
  artifacts: string;
}

/** Reads what run.mjs put in the environment; a clear error when a spec is started without it. */
export function env(): E2eEnv {
  const url = process.env.MASKROOM_E2E_URL;
  const token = process.env.MASKROOM_E2E_TOKEN;
  const work = process.env.MASKROOM_E2E_WORK;
  if (!url || !token || !work)
    throw new Error('e2e specs need the server from e2e/run.mjs: run `npm run test:e2e`.');
  const u = new URL(url);
  const artifacts = path.resolve(import.meta.dirname, 'artifacts');
  mkdirSync(artifacts, { recursive: true });
  return { url, base: u.origin, port: Number(u.port), token, work, artifacts };
}

/** Scene file names of the fixture set. */
export const SCENES = Array.from({ length: 8 }, (_, i) => `shapes_${String(i).padStart(2, '0')}`);

export interface GroundTruth {
  width: number;
  height: number;
  ids: Uint16Array;
}

/** Reads `shapes_NN.ids.png` (16-bit, 0 = background, k = instance k). */
export async function groundTruth(scene: string): Promise<GroundTruth> {
  const file = path.join(env().work, 'shapes', `${scene}.ids.png`);
  const { data, info } = await sharp(readFileSync(file))
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const ids = new Uint16Array(data.buffer, data.byteOffset, info.width * info.height);
  return { width: info.width, height: info.height, ids };
}

/** Instance ids present in a scene, largest first. */
export function instances(gt: GroundTruth): number[] {
  const count = new Map<number, number>();
  for (const v of gt.ids) if (v) count.set(v, (count.get(v) ?? 0) + 1);
  return [...count.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
}

/** Row-major 0/1 mask of one instance. */
export function instanceMask(gt: GroundTruth, k: number): Uint8Array {
  const m = new Uint8Array(gt.ids.length);
  for (let i = 0; i < m.length; i++) m[i] = gt.ids[i] === k ? 1 : 0;
  return m;
}

/**
 * The pixel deepest inside a mask (largest chamfer distance to the outside): a click there lands in
 * the shape even for rings, whose centroid is in the hole.
 */
export function interiorPoint(mask: Uint8Array, w: number, h: number): { x: number; y: number } {
  const INF = 1e9;
  const d = new Float64Array(w * h);
  for (let i = 0; i < d.length; i++) d[i] = mask[i] ? INF : 0;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= w || y >= h ? 0 : d[y * w + x]!);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (d[i])
        d[i] = Math.min(
          d[i]!,
          at(x - 1, y) + 1,
          at(x, y - 1) + 1,
          at(x - 1, y - 1) + 1.414,
          at(x + 1, y - 1) + 1.414,
        );
    }
  let best = { x: 0, y: 0, v: -1 };
  for (let y = h - 1; y >= 0; y--)
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      if (d[i])
        d[i] = Math.min(
          d[i]!,
          at(x + 1, y) + 1,
          at(x, y + 1) + 1,
          at(x + 1, y + 1) + 1.414,
          at(x - 1, y + 1) + 1.414,
        );
      if (d[i]! > best.v) best = { x, y, v: d[i]! };
    }
  return { x: best.x + 0.5, y: best.y + 0.5 };
}

/** Bounding box of a mask as [x0, y0, x1, y1] (exclusive ends). */
export function bbox(mask: Uint8Array, w: number, h: number): [number, number, number, number] {
  let x0 = w,
    y0 = h,
    x1 = -1,
    y1 = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (mask[y * w + x]) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
  return [x0, y0, x1 + 1, y1 + 1];
}

/** Intersection over union of two row-major masks of the same size. */
export function iou(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`mask sizes differ: ${a.length} vs ${b.length}`);
  let inter = 0,
    uni = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) uni++;
  }
  return uni === 0 ? 0 : inter / uni;
}

export function area(m: Uint8Array): number {
  let n = 0;
  for (const v of m) n += v ? 1 : 0;
  return n;
}

type Rle = { size: [number, number]; counts: string };

/** Decodes an RLE read back from the app and checks its size. */
export function decodeRle(rle: Rle, w: number, h: number): Uint8Array {
  expect(rle.size).toEqual([h, w]);
  return decode(rle);
}

// ── UI steps ─────────────────────────────────────────────────────────────────────────────────────

/** Opens the app and waits until it is connected. */
export async function openApp(page: Page): Promise<void> {
  await page.goto(env().url);
  await expect(page.locator('.topbar')).toBeVisible();
}

/**
 * Creates a project through the Projects form in a fresh folder holding the scene images (the backend
 * imports only from inside the project folder), imports it, and waits for the grid.
 */
export async function createProjectWithShapes(page: Page, name: string): Promise<string> {
  const e = env();
  // A unique folder per run, so a spec can be re-run against a long-lived server.
  const root = path.join(e.work, `project-${name}-${Date.now().toString(36)}`);
  mkdirSync(path.join(root, 'images'), { recursive: true });
  for (const scene of SCENES)
    copyFileSync(path.join(e.work, 'shapes', `${scene}.jpg`), path.join(root, 'images', `${scene}.jpg`));
  await openApp(page);
  await page.getByRole('button', { name: 'Projects' }).click();
  const form = page.getByTestId('create-project');
  await form.locator('input[name="root"]').fill(root);
  await form.locator('input[name="name"]').fill(name);
  await shot(page, '00-projects');
  await form.getByRole('button', { name: 'Create project' }).click();
  const importForm = page.getByTestId('import-form');
  await expect(importForm).toBeVisible();
  await importForm.locator('input[name="importDir"]').fill(path.join(root, 'images'));
  await importForm.getByRole('button', { name: 'Import folder' }).click();
  await expect(page.getByTestId('thumb')).toHaveCount(SCENES.length, { timeout: 60_000 });
  return root;
}

/** Opens an image from the grid by file name and waits for its embedding. */
export async function openImage(page: Page, fileName: string): Promise<void> {
  if ((await page.evaluate(() => globalThis.__maskroomTest!.view())) !== 'grid')
    await page.getByRole('button', { name: 'Images' }).click();
  await page.getByTestId('thumb').filter({ hasText: fileName }).click();
  await expect
    .poll(() => page.evaluate(() => globalThis.__maskroomTest!.embeddingState()), { timeout: 60_000 })
    .toBe('ready');
  await expect.poll(() => page.evaluate(() => globalThis.__maskroomTest!.currentImage())).not.toBeNull();
}

/** Client coordinates of an image pixel. */
export async function toClient(page: Page, x: number, y: number): Promise<{ x: number; y: number }> {
  const p = await page.evaluate(([x, y]) => globalThis.__maskroomTest!.imageToClient(x!, y!), [x, y]);
  if (!p) throw new Error('stage is not on screen');
  return p;
}

/** Clicks an image pixel (Alt for a negative point) and waits for the candidate of that click. */
export async function clickImage(
  page: Page,
  x: number,
  y: number,
  opts: { negative?: boolean } = {},
): Promise<Rle> {
  const before = await page.evaluate(() => globalThis.__maskroomTest!.timings().length);
  const p = await toClient(page, x, y);
  await page.mouse.move(p.x, p.y);
  if (opts.negative) await page.keyboard.down('Alt');
  await page.mouse.down();
  await page.mouse.up();
  if (opts.negative) await page.keyboard.up('Alt');
  return waitCandidate(page, before);
}

/** Drags a box between two image pixels and waits for its candidate. */
export async function dragBox(page: Page, x0: number, y0: number, x1: number, y1: number): Promise<Rle> {
  const before = await page.evaluate(() => globalThis.__maskroomTest!.timings().length);
  const a = await toClient(page, x0, y0);
  const b = await toClient(page, x1, y1);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 4 });
  await page.mouse.move(b.x, b.y, { steps: 4 });
  await page.mouse.up();
  return waitCandidate(page, before);
}

async function waitCandidate(page: Page, timingsBefore: number): Promise<Rle> {
  await expect
    .poll(() =>
      page.evaluate((n) => {
        const t = globalThis.__maskroomTest!.timings();
        return (
          t.length > n &&
          t[t.length - 1]!.drawnAt !== null &&
          globalThis.__maskroomTest!.promptPhase() === 'reviewing'
        );
      }, timingsBefore),
    )
    .toBe(true);
  const rle = await page.evaluate(() => globalThis.__maskroomTest!.candidateRle());
  if (!rle) throw new Error('no candidate mask after the click');
  return rle;
}

/** Annotations of the image on screen, from the app's store. */
export function annotations(page: Page) {
  return page.evaluate(() => globalThis.__maskroomTest!.annotations());
}

/** Saves a screenshot under e2e/artifacts/. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(env().artifacts, `${name}.png`) });
}

/** The read-only hook the renderer installs (renderer/src/testHook.ts). */
export interface TestHook {
  candidateRle(): Rle | null;
  promptPhase(): string;
  promptLabels(): number[];
  hoverRle(): Rle | null;
  annotations(): {
    id: number;
    categoryId: number | null;
    status: string;
    area: number;
    score: number | null;
    rle: Rle;
  }[];
  selectedId(): number | null;
  currentImage(): { id: number | null; width: number; height: number } | null;
  embeddingState(): string;
  timings(): { seq: number; t0: number; answeredAt: number | null; drawnAt: number | null }[];
  view(): string;
  pixelWorker(): 'worker' | 'inline';
  imageToClient(x: number, y: number): { x: number; y: number } | null;
}

declare global {
  // In the page, globalThis is window; the hook is installed there.
  var __maskroomTest: TestHook | undefined;
}
