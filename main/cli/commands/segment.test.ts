// `maskroom segment` end to end: a real node process running the CLI sources through tsx.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { area, decode, iou, type Rle } from '../../../common/rle/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const model = path.join(root, 'native-models/fixtures/tinysam-shapes');
const image = path.join(root, 'native-models/fixtures/shapes/shapes_00.jpg');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'maskroom-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const entry = `const m = await import(${JSON.stringify(path.join(root, 'main/cli/index.ts'))}); process.exit(await m.main(process.argv.slice(1)));`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', entry, ...args],
      { cwd: root, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('maskroom segment', () => {
  it('writes a full-size 8-bit PNG mask and prints RLE, area, bbox, score and stage times', async () => {
    const out = path.join(tmp, 'mask.png');
    const r = await cli(
      'segment',
      image,
      '--model',
      model,
      '--point',
      '563,250',
      '--out',
      out,
      '--provider',
      'cpu',
      '--cache-dir',
      path.join(tmp, 'c'),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const word of ['rle', 'area', 'bbox', 'score', 'encoder', 'decoder', 'postprocess'])
      expect(r.stdout).toContain(word);
    const printedArea = Number(/area\s+(\d+)/.exec(r.stdout)?.[1]);
    expect(printedArea).toBeGreaterThan(1000);
    expect((await sharp(out).metadata()).channels).toBe(1);
    const { data, info } = await sharp(out).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([1024, 720, 1]);
    let inside = 0;
    for (const v of data) {
      expect(v === 0 || v === 255).toBe(true);
      if (v === 255) inside++;
    }
    expect(inside).toBe(printedArea);
  });

  it('writes COCO RLE JSON for a box plus a negative point', async () => {
    const out = path.join(tmp, 'mask.json');
    const r = await cli(
      'segment',
      image,
      '-m',
      model,
      '--box',
      '0,0,1024,720',
      '--point',
      '563,250,0',
      '-o',
      out,
      '--no-cache',
      '--provider',
      'cpu',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8')) as {
      size: [number, number];
      counts: string;
      score: number;
      bbox: number[];
      area: number;
    };
    expect(Object.keys(j).sort()).toEqual(['area', 'bbox', 'counts', 'score', 'size']);
    expect(j.size).toEqual([720, 1024]);
    expect(area(j)).toBe(j.area);
    expect(decode(j)[250 * 1024 + 563]).toBe(0);
  });

  it("--fast-path on gives the plain path's mask (GPU graphs, here on CPU); a bad mode is refused", async () => {
    const run = (mode: string) =>
      cli(
        'segment',
        image,
        '-m',
        model,
        '-p',
        '563,250',
        '--no-cache',
        '--provider',
        'cpu',
        '--fast-path',
        mode,
        '--json',
      );
    const [on, off] = await Promise.all([run('on'), run('off')]);
    expect(on.code).toBe(0);
    expect(off.code).toBe(0);
    const a = JSON.parse(on.stdout) as { rle: Rle };
    const b = JSON.parse(off.stdout) as { rle: Rle };
    expect(iou(a.rle, b.rle)).toBeGreaterThan(0.99);
    const bad = await run('fast');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/fast-path/);
  });

  it('fails with one line and a nonzero exit on bad input', async () => {
    const cases: [string[], RegExp][] = [
      [['segment', path.join(tmp, 'nope.jpg'), '-m', model, '-p', '1,1', '--no-cache'], /not_found/],
      [
        ['segment', image, '-m', path.join(tmp, 'no-model'), '-p', '1,1', '--no-cache'],
        /model_dir_not_found/,
      ],
      [['segment', image, '-m', model, '-p', '5', '--no-cache'], /--point/],
      [['segment', image, '-m', model, '--no-cache'], /--point or a --box/],
      [
        ['segment', image, '-m', model, '-p', '1,1', '-o', path.join(tmp, 'x.gif'), '--no-cache'],
        /\.png or \.json/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
  });
});
