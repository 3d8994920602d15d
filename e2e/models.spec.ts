// The models panel end to end: import a model folder, and download an encoder/decoder pair by URL
// (served from a local HTTP server in this spec) with a checksum, watching the job's progress.
import { expect, test, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { env, openApp, shot } from './helpers.js';

test.describe.configure({ mode: 'serial' });

const FIXTURE = path.resolve(import.meta.dirname, '../native-models/fixtures/tinysam-shapes');
let page: Page;
let files: Server;
let filesBase = '';

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  // The download source: plain HTTP on 127.0.0.1, like a mirror on the LAN.
  files = createServer((req, res) => {
    const name = path.basename(req.url ?? '');
    if (!['encoder.onnx', 'decoder.onnx'].includes(name)) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(path.join(FIXTURE, name));
    res
      .writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length })
      .end(body);
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  filesBase = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  await page.close();
  await new Promise((r) => files.close(r));
});

async function openModels(): Promise<ReturnType<Page['getByTestId']>> {
  await page.getByRole('button', { name: 'Models' }).click();
  const panel = page.getByTestId('models-panel');
  await expect(panel).toBeVisible();
  return panel;
}

test('a model folder is imported from the models panel', async () => {
  const src = path.join(env().work, 'model-to-import');
  cpSync(FIXTURE, src, { recursive: true });
  await openApp(page);
  const panel = await openModels();
  const rows = panel.locator('table.models tbody tr');
  // The bundled model is always installed; wait for the list before counting.
  await expect(rows.first()).toContainText('TinySAM');
  const before = await rows.count();
  await panel.getByRole('button', { name: 'Import folder' }).click();
  await panel.getByLabel('Folder with encoder.onnx and decoder.onnx').fill(src);
  await panel.getByLabel('Name').fill('Imported shapes');
  await panel.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(rows).toHaveCount(before + 1);
  await expect(panel).toContainText('Imported shapes');
});

test('a model is downloaded by URL with its checksum, with progress', async () => {
  const panel = page.getByTestId('models-panel');
  const rows = panel.locator('table.models tbody tr');
  const before = await rows.count();
  const sha = (f: string) =>
    createHash('sha256')
      .update(readFileSync(path.join(FIXTURE, f)))
      .digest('hex');
  await panel.getByRole('button', { name: 'Download URL' }).click();
  await panel.getByPlaceholder('https://…/encoder.onnx').fill(`${filesBase}/encoder.onnx`);
  await panel.getByPlaceholder('64 hex digits').first().fill(sha('encoder.onnx'));
  await panel.getByPlaceholder('https://…/decoder.onnx').fill(`${filesBase}/decoder.onnx`);
  await panel.getByPlaceholder('64 hex digits').last().fill(sha('decoder.onnx'));
  await panel.getByLabel('Name').fill('Downloaded shapes');
  await panel.getByRole('button', { name: 'Download', exact: true }).click();
  await expect(rows).toHaveCount(before + 1, { timeout: 60_000 });
  await expect(panel).toContainText('Downloaded shapes');
  // The job row shows bytes received of the total once it finished.
  await expect(panel.locator('.row', { hasText: 'MB' }).first()).toBeVisible();
  await shot(page, '08-models-download');
  await page.keyboard.press('Escape');
});
