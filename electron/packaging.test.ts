import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const config = readFileSync(path.join(root, 'build', 'electron-builder.yml'), 'utf8');

/** Items of a top-level YAML list (`key:` followed by `  - item` lines); enough for this flat file. */
function topList(key: string): string[] {
  const lines = config.split('\n');
  const start = lines.findIndex((l) => l === `${key}:`);
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^\S/.test(l)) break;
    const m = /^ {2}- (.+)$/.exec(l);
    if (m) out.push(m[1]!.replace(/^'(.*)'$/, '$1'));
  }
  return out;
}

function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out;
}

describe('electron-builder config', () => {
  it('builds AppImage + deb, dmg and nsis', () => {
    expect(config).toMatch(/linux:\n {2}target:\n {4}- AppImage\n {4}- deb/);
    expect(config).toMatch(/mac:\n {2}target:\n {4}- dmg/);
    expect(config).toMatch(/win:\n {2}target:\n {4}- nsis/);
  });

  it('packs the entry points, migrations and the fixture model', () => {
    const include = topList('files').filter((p) => !p.startsWith('!'));
    const exclude = topList('files')
      .filter((p) => p.startsWith('!'))
      .map((p) => p.slice(1));
    const packed = picomatch(include, { dot: true, ignore: exclude });
    for (const f of [
      'package.json',
      'dist/electron/main.js',
      'dist/electron/preload.cjs',
      'dist/main/engine/worker.js',
      'dist/renderer/index.html',
      'migrations/0010_init.sql',
    ]) {
      expect(packed(f), f).toBe(true);
    }
    for (const f of readdirSync(path.join(root, 'native-models/fixtures/tinysam-shapes')).filter(
      (n) => n === 'manifest.json' || n.endsWith('.onnx'),
    )) {
      expect(packed(`native-models/fixtures/tinysam-shapes/${f}`), f).toBe(true);
    }
    expect(packed('dist/main/engine/worker.js.map')).toBe(false);
  });

  it('unpacks every native addon and shared library of the runtime dependencies, and the fixture model', () => {
    const unpack = picomatch(topList('asarUnpack'), { dot: true });
    const natives = ['onnxruntime-node', 'better-sqlite3', 'sharp', '@img']
      .flatMap((pkg) => {
        try {
          return walk(path.join(root, 'node_modules', pkg)).map((f) => `node_modules/${pkg}/${f}`);
        } catch {
          return [];
        }
      })
      .filter((f) => /\.(node|so(\.\d+)*|dylib|dll)$/.test(f));
    expect(natives.length).toBeGreaterThan(0);
    for (const f of natives) expect(unpack(f), f).toBe(true);
    expect(unpack('native-models/fixtures/tinysam-shapes/encoder.onnx')).toBe(true);
    expect(unpack('dist/main/services/backend.js')).toBe(false);
  });
});
