import { describe, expect, it } from 'vitest';
import {
  countsFromString,
  countsToString,
  decode,
  encode,
  fromBbox,
  fromPolygons,
  iou,
  merge,
  RleError,
  validate,
  type RleErrorCode,
} from './index.js';

function code(f: () => unknown): RleErrorCode | 'no error' | 'other error' {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof RleError ? e.code : 'other error';
  }
}

describe('validate', () => {
  it('accepts both forms and returns the same object', () => {
    const a = { size: [2, 3], counts: [1, 2, 3] };
    const b = { size: [2, 3], counts: '1230' };
    expect(validate(a)).toBe(a);
    expect(code(() => validate(b))).toBe('bad-counts');
    const c = { size: [2, 3], counts: '123' };
    expect(validate(c)).toBe(c);
  });

  it.each([
    ['null', null, 'bad-counts'],
    ['a number', 7, 'bad-counts'],
    ['no size', { counts: [4] }, 'bad-size'],
    ['size of one number', { size: [4], counts: [4] }, 'bad-size'],
    ['negative height', { size: [-1, 4], counts: [0] }, 'bad-size'],
    ['fractional width', { size: [2, 1.5], counts: [3] }, 'bad-size'],
    ['string size', { size: ['2', '2'], counts: [4] }, 'bad-size'],
    ['no counts', { size: [2, 2] }, 'bad-counts'],
    ['counts as object', { size: [2, 2], counts: { 0: 4 } }, 'bad-counts'],
    ['negative run', { size: [2, 2], counts: [5, -1] }, 'bad-counts'],
    ['fractional run', { size: [2, 2], counts: [2.5, 1.5] }, 'bad-counts'],
    ['NaN run', { size: [2, 2], counts: [NaN, 4] }, 'bad-counts'],
    ['string run', { size: [2, 2], counts: ['4'] }, 'bad-counts'],
    ['runs summing short', { size: [2, 2], counts: [1, 2] }, 'bad-counts'],
    ['runs summing long', { size: [2, 2], counts: [1, 2, 3] }, 'bad-counts'],
    ['string with a space', { size: [2, 2], counts: '1 3' }, 'bad-string'],
    ['string with a char above o', { size: [2, 2], counts: '1p' }, 'bad-string'],
    ['truncated string', { size: [2, 2], counts: '1`' }, 'bad-string'],
    ['string decoding to a negative run', { size: [2, 2], counts: 'O' }, 'bad-string'],
    ['string summing wrong', { size: [2, 2], counts: '5' }, 'bad-counts'],
  ] as const)('rejects %s', (_, rle, expected) => {
    expect(code(() => validate(rle))).toBe(expected);
  });

  it('names the problem in the message', () => {
    expect(() => validate({ size: [2, 2], counts: [1, 2] })).toThrow(/sum to 3 but size 2×2 has 4 pixels/);
    expect(() => countsFromString('1p')).toThrow(/character "p" at 1/);
  });
});

describe('every entry point checks its input', () => {
  it('encode rejects a mask of the wrong length or bad sizes', () => {
    expect(code(() => encode(new Uint8Array(5), 2, 3))).toBe('bad-size');
    expect(code(() => encode(new Uint8Array(6), -2, -3))).toBe('bad-size');
    expect(code(() => encode([0, 1] as unknown as Uint8Array, 1, 2))).toBe('bad-size');
  });

  it('decode rejects malformed RLEs instead of writing out of bounds', () => {
    expect(code(() => decode({ size: [2, 2], counts: [1, 9] }))).toBe('bad-counts');
    expect(code(() => decode({ size: [2, 2], counts: '1p' }))).toBe('bad-string');
    // Checked before anything of that size is allocated.
    expect(code(() => decode({ size: [1_000_000, 1_000_000], counts: [5] }))).toBe('bad-counts');
  });

  it('merge and iou reject masks of different sizes', () => {
    const a = { size: [2, 2] as [number, number], counts: [4] };
    const b = { size: [1, 4] as [number, number], counts: [4] };
    expect(code(() => merge([a, b]))).toBe('size-mismatch');
    expect(code(() => iou(a, b))).toBe('size-mismatch');
    expect(code(() => merge([]))).toBe('bad-size');
  });

  it('fromPolygons and fromBbox reject malformed polygons', () => {
    expect(code(() => fromPolygons([], 4, 4))).toBe('bad-polygon');
    expect(code(() => fromPolygons([[1, 2, 3]], 4, 4))).toBe('bad-polygon');
    expect(code(() => fromPolygons([[1, 2, 3, NaN, 1, 1]], 4, 4))).toBe('bad-polygon');
    expect(code(() => fromPolygons([[1, 2, 3, Infinity, 1, 1]], 4, 4))).toBe('bad-polygon');
    expect(code(() => fromPolygons(['1,2,3,4,5,6' as unknown as number[]], 4, 4))).toBe('bad-polygon');
    expect(code(() => fromPolygons([[0, 0, 1, 0, 1, 1]], 4, -4))).toBe('bad-size');
    expect(code(() => fromBbox([1, 2, 3] as unknown as [number, number, number, number], 4, 4))).toBe(
      'bad-polygon',
    );
    expect(code(() => fromBbox([1, 2, NaN, 3], 4, 4))).toBe('bad-polygon');
  });
});

describe('count strings', () => {
  it('refuses counts that are not non-negative integers', () => {
    expect(code(() => countsToString([3, -1]))).toBe('bad-counts');
    expect(code(() => countsToString([1.5]))).toBe('bad-counts');
    expect(code(() => countsToString([NaN]))).toBe('bad-counts');
  });

  it('refuses numbers too long to be a run', () => {
    expect(code(() => countsFromString('o'.repeat(11) + '0'))).toBe('bad-string');
    expect(code(() => countsFromString('o'.repeat(300) + '0'))).toBe('bad-string');
    expect(countsFromString('oooooooooo0')).toHaveLength(1);
  });
});
