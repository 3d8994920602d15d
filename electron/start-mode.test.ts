import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseMode, missingBuilds } from '../scripts/start-mode.mjs';

function fakeRoot(opts: { pkg?: boolean; pathTxt?: boolean; binary?: boolean }) {
  const root = mkdtempSync(path.join(tmpdir(), 'maskroom-start-'));
  const pkg = path.join(root, 'node_modules', 'electron');
  if (opts.pkg) mkdirSync(pkg, { recursive: true });
  if (opts.pathTxt) writeFileSync(path.join(pkg, 'path.txt'), 'electron');
  if (opts.binary) {
    mkdirSync(path.join(pkg, 'dist'));
    writeFileSync(path.join(pkg, 'dist', 'electron'), '');
  }
  return root;
}

describe('npm start mode', () => {
  it('runs web mode and says why when Electron’s binary was not downloaded', () => {
    expect(chooseMode({ root: fakeRoot({ pkg: true }), env: {} })).toMatchObject({
      mode: 'web',
      reason: expect.stringMatching(/path\.txt/),
    });
    expect(chooseMode({ root: fakeRoot({}), env: {} })).toMatchObject({
      mode: 'web',
      reason: expect.stringMatching(/not installed/),
    });
    expect(chooseMode({ root: fakeRoot({ pkg: true, pathTxt: true }), env: {} })).toMatchObject({
      mode: 'web',
      reason: expect.stringMatching(/missing/),
    });
  });

  it('runs Electron when its binary is present (and a display exists), unless web mode is forced', () => {
    const root = fakeRoot({ pkg: true, pathTxt: true, binary: true });
    expect(chooseMode({ root, env: { DISPLAY: ':0' } })).toMatchObject({
      mode: 'electron',
      electronPath: path.join(root, 'node_modules', 'electron', 'dist', 'electron'),
    });
    expect(chooseMode({ root, env: { DISPLAY: ':0', MASKROOM_MODE: 'web' } }).mode).toBe('web');
    if (process.platform === 'linux')
      expect(chooseMode({ root, env: {} })).toMatchObject({
        mode: 'web',
        reason: expect.stringMatching(/no display/),
      });
  });

  it('lists the builds a mode still needs', () => {
    const root = fakeRoot({});
    expect(missingBuilds(root, 'web')).toEqual(['build:node', 'build:renderer']);
    expect(missingBuilds(root, 'electron')).toEqual(['build:node', 'build:renderer', 'build:preload']);
  });
});

describe('packaged paths', () => {
  it('points native code at the unpacked copy of files inside app.asar', async () => {
    const { unpackedPath } = await import('./packaging.js');
    expect(unpackedPath('/opt/Maskroom/resources/app.asar/native-models/fixtures/tinysam-shapes', '/')).toBe(
      '/opt/Maskroom/resources/app.asar.unpacked/native-models/fixtures/tinysam-shapes',
    );
    expect(unpackedPath('C:\\Maskroom\\resources\\app.asar\\native-models', '\\')).toBe(
      'C:\\Maskroom\\resources\\app.asar.unpacked\\native-models',
    );
    expect(unpackedPath('/work/main/native-models', '/')).toBe('/work/main/native-models');
  });
});
