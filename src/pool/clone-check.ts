/**
 * Finds what in a task's result cannot be structured-cloned, before the result is posted. A
 * post that fails inside the pool's worker code cannot be caught there and kills the thread, so
 * the runner checks first and fails only that task (ERR_DATA_CLONE), naming the bad part.
 *
 * The walk is cheap where results are big: typed arrays and buffers are accepted without
 * looking inside, plain objects and arrays are walked, and anything unusual (a class instance,
 * a host object, a graph deeper than {@link MAX_DEPTH}, which includes cycles) is handed to
 * `structuredClone` itself to judge.
 * @module
 */
import { MessagePort } from 'node:worker_threads';

/** Deeper than this, `structuredClone` judges the rest (it also handles cycles). */
const MAX_DEPTH = 24;

/** Where a walk found a value that cannot be cloned: the path (outermost first) and why. */
interface Finding {
  readonly path: (string | number)[];
  readonly why: string;
}

/**
 * Describes the first part of `value` that structured clone refuses, or returns undefined.
 * @param name - what to call the value in the description, e.g. `the result`.
 * @param transferred - buffers and ports the value moves (they may be ports).
 */
export function cloneIssue(
  value: unknown,
  name: string,
  transferred?: readonly unknown[],
): string | undefined {
  const finding = walk(value, 0, transferred);
  if (finding === undefined) return undefined;
  const path = finding.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('');
  return `${name}${path} ${finding.why}`;
}

function walk(
  value: unknown,
  depth: number,
  transferred: readonly unknown[] | undefined,
): Finding | undefined {
  switch (typeof value) {
    case 'function':
      return { path: [], why: 'is a function' };
    case 'symbol':
      return { path: [], why: 'is a symbol' };
    case 'object':
      return value === null ? undefined : walkObject(value, depth, transferred);
    default:
      return undefined;
  }
}

function walkObject(
  value: object,
  depth: number,
  transferred: readonly unknown[] | undefined,
): Finding | undefined {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer)
    return undefined;
  if (value instanceof MessagePort) {
    return transferred?.includes(value) === true
      ? undefined
      : { path: [], why: 'is a MessagePort not listed in the transfer list' };
  }
  if (depth >= MAX_DEPTH) return probe(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = walk(value[i], depth + 1, transferred);
      if (found !== undefined) return within(i, found);
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const found = walk((value as Record<string, unknown>)[key], depth + 1, transferred);
      if (found !== undefined) return within(key, found);
    }
    return undefined;
  }
  if (value instanceof Date || value instanceof RegExp || value instanceof Error) return undefined;
  if (value instanceof Map) return walkEntries(value, depth, transferred);
  if (value instanceof Set) return walkEntries(new Map([...value].map((v, i) => [i, v])), depth, transferred);
  return probe(value);
}

function walkEntries(
  map: Map<unknown, unknown>,
  depth: number,
  transferred: readonly unknown[] | undefined,
): Finding | undefined {
  let index = 0;
  for (const [key, entry] of map) {
    const found = walk(key, depth + 1, transferred) ?? walk(entry, depth + 1, transferred);
    if (found !== undefined) return within(index, found);
    index++;
  }
  return undefined;
}

/** Lets the real algorithm judge an unusual value. */
function probe(value: object): Finding | undefined {
  try {
    structuredClone(value);
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { path: [], why: `cannot be cloned (${reason})` };
  }
}

function within(key: string | number, found: Finding): Finding {
  found.path.unshift(key);
  return found;
}
