import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../index.js';

const sample = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../export/fixtures/coco-val2017-sample',
);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maskroom-cli-'));
  cpSync(path.join(sample, 'images'), path.join(dir, 'imgs'), { recursive: true });
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('maskroom project / import coco / export coco', () => {
  it('init, import a folder, import COCO, stats, export RLE and PNG masks', async () => {
    const p = path.join(dir, 'p');
    expect((await run('project', 'init', p, '--root', path.join(dir, 'imgs'))).code).toBe(0);
    const imp = await run('project', 'import', p, path.join(dir, 'imgs'), '--json');
    expect(imp.code).toBe(0);
    expect(JSON.parse(imp.stdout).added).toHaveLength(4);
    const coco = await run('import', 'coco', p, path.join(sample, 'annotations.json'));
    expect(coco.stdout).toMatch(/annotations 45 masks, 0 box-only/);
    const stats = await run('project', 'stats', p, '--json');
    expect(JSON.parse(stats.stdout)).toMatchObject({
      images: { total: 4, new: 4 },
      annotations: { total: 45, accepted: 45 },
      categories: 80,
    });
    const out = path.join(dir, 'instances.json');
    const exp = await run('export', 'coco', p, out, '--png-masks', path.join(dir, 'masks'));
    expect(exp.code).toBe(0);
    expect(exp.stdout).toMatch(/4 images, 80 categories, 45 annotations/);
    expect(JSON.parse(readFileSync(out, 'utf8')).annotations).toHaveLength(45);
    expect(existsSync(path.join(dir, 'masks', '000000174482.png'))).toBe(true);
  });

  it('fails with one line and a nonzero code on bad input', async () => {
    const p = path.join(dir, 'p');
    await run('project', 'init', p);
    const again = await run('project', 'init', p);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^maskroom: PROJECT_EXISTS: .*already holds a Maskroom project \(maskroom\.db\)\n$/,
    );
    const outside = await run('project', 'import', p, tmpdir());
    expect(outside.stderr).toMatch(/PATH_OUTSIDE_ROOT/);
    const notProject = await run('project', 'stats', path.join(dir, 'nope'));
    expect(notProject.stderr).toMatch(/NOT_A_PROJECT: no Maskroom project/);
  });
});
