import { execFileSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { NotCacheableError } from 'node-orchestrator';
import { inputKey } from '../src/cache/key.js';

/** Values a structured clone carries as they are (no null prototypes: a clone gives them one). */
const values = fc.anything({
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  withMap: false,
  withSet: false,
  withNullPrototype: false,
  withObjectString: true,
});

/** The same value with every plain object's keys added in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).reverse())
    Object.defineProperty(out, key, {
      value: reversedKeys((value as Record<string, unknown>)[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

describe('cache keys', () => {
  test.prop([values])('a value, its structured clone and its keys in another order give one key', (value) => {
    const key = inputKey(value);
    expect(inputKey(structuredClone(value))).toBe(key);
    expect(inputKey(reversedKeys(value))).toBe(key);
  });

  test.prop([values, values])('values that differ give different keys', (a, b) => {
    if (!isDeepStrictEqual(a, b)) expect(inputKey(a)).not.toBe(inputKey(b));
  });

  it('tells apart what a task can tell apart: -0, holes, lone surrogates, shared objects', () => {
    expect(inputKey(0)).not.toBe(inputKey(-0));
    // eslint-disable-next-line no-sparse-arrays
    expect(inputKey([, 1])).not.toBe(inputKey([undefined, 1]));
    expect(inputKey('\uD800')).not.toBe(inputKey('\uD801'));
    expect(inputKey('1')).not.toBe(inputKey(1));
    const shared = { n: 1 };
    expect(inputKey({ a: shared, b: shared })).not.toBe(inputKey({ a: { n: 1 }, b: { n: 1 } }));
    expect(inputKey(new Uint8Array([1, 2]))).not.toBe(inputKey(new Int8Array([1, 2])));
    expect(inputKey(new Map([[1, 2]]))).not.toBe(inputKey(new Map([[1, 3]])));
  });

  it('keys cycles, and Maps, Sets, RegExps and Errors through v8.serialize', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    expect(inputKey(cyclic)).toBe(inputKey(structuredClone(cyclic)));
    const rich = { m: new Map([['k', new Set([1, 2])]]), r: /x+/g, e: new RangeError('no') };
    expect(inputKey(rich)).toBe(inputKey(structuredClone(rich)));
  });

  it('refuses what cannot be keyed with ERR_NOT_CACHEABLE naming the part', () => {
    const cases: [unknown, RegExp][] = [
      [{ a: [1, () => 1] }, /The input\.a\[1\] is a function/],
      [{ s: Symbol('x') }, /The input\.s is a symbol/],
      [
        { view: new Int32Array(new SharedArrayBuffer(8)) },
        /The input\.view is \(or views\) a SharedArrayBuffer/,
      ],
      [{ deep: { weak: new WeakMap() } }, /The input\.deep\.weak cannot be structured-cloned/],
    ];
    for (const [input, message] of cases) {
      let caught: unknown;
      try {
        inputKey(input);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(NotCacheableError);
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('is the same in another process', () => {
    const input = {
      text: 'héllo wörld',
      ids: [3, 1, 2],
      nested: { b: true, a: null },
      bytes: new Uint8Array([9, 8]),
    };
    const module = new URL('../dist/src/cache/key.js', import.meta.url).href;
    const script = `import(${JSON.stringify(module)}).then(({ inputKey }) => process.stdout.write(inputKey({ nested: { a: null, b: true }, ids: [3, 1, 2], bytes: new Uint8Array([9, 8]), text: 'héllo wörld' })))`;
    const other = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(other).toBe(inputKey(input));
  });
});
