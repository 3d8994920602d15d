import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PathGuard } from './paths.js';

function tree() {
  const base = mkdtempSync(path.join(tmpdir(), 'maskroom-paths-'));
  const root = path.join(base, 'project');
  const outside = path.join(base, 'outside');
  mkdirSync(path.join(root, 'images'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret.txt'), 'x');
  writeFileSync(path.join(root, 'images', 'a.jpg'), 'x');
  symlinkSync(outside, path.join(root, 'escape'));
  return { base, root, outside };
}

describe('PathGuard', () => {
  it('accepts paths inside a root, existing or not', () => {
    const { root } = tree();
    const g = new PathGuard([root]);
    expect(g.confine(path.join(root, 'images', 'a.jpg'), { mustExist: 'file' })).toMatch(/a\.jpg$/);
    expect(g.confine(path.join(root, 'exports', 'new', 'coco.json'))).toMatch(/coco\.json$/);
    expect(g.confine('images', { base: root, mustExist: 'dir' })).toMatch(/images$/);
  });

  it('refuses .. escapes, foreign absolute paths and symlinks that lead out', () => {
    const { root, outside } = tree();
    const g = new PathGuard([root]);
    expect(() => g.confine(path.join(root, '..', 'outside', 'secret.txt'))).toThrow(
      expect.objectContaining({ code: 'PATH_OUTSIDE_ROOT' }),
    );
    expect(() => g.confine(outside)).toThrow(expect.objectContaining({ code: 'PATH_OUTSIDE_ROOT' }));
    expect(() => g.confine(path.join(root, 'escape', 'secret.txt'))).toThrow(
      expect.objectContaining({ code: 'PATH_OUTSIDE_ROOT' }),
    );
    expect(() => g.confine(path.join(root, 'escape', 'new.json'))).toThrow(
      expect.objectContaining({ code: 'PATH_OUTSIDE_ROOT' }),
    );
    expect(() => g.confine('../outside', { base: root })).toThrow(
      expect.objectContaining({ code: 'PATH_OUTSIDE_ROOT' }),
    );
    expect(g.allows(path.join(root, 'escape'))).toBe(false);
  });

  it('refuses relative paths without a base and reports missing or wrong-kind paths', () => {
    const { root } = tree();
    const g = new PathGuard([root]);
    expect(() => g.confine('images')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => g.confine(path.join(root, 'nope'), { mustExist: 'dir' })).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
    expect(() => g.confine(path.join(root, 'images'), { mustExist: 'file' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('allows a folder once it is added and forgets it when removed', () => {
    const { root, outside } = tree();
    const g = new PathGuard([root]);
    g.add(outside);
    expect(g.confine(path.join(outside, 'secret.txt'), { mustExist: 'file' })).toMatch(/secret\.txt$/);
    g.remove(outside);
    expect(g.allows(path.join(outside, 'secret.txt'))).toBe(false);
  });
});
