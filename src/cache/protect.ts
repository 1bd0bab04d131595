/**
 * Keeping cached results safe from the callers that receive them, and weighing them.
 *
 * A result is handed to many callers; one caller changing it must not change what the next one
 * gets. Freezing does that at no cost per hit, but only for what `Object.freeze` can lock:
 * plain objects and arrays. The bytes of a typed array or an ArrayBuffer, the entries of a Map
 * or a Set and the time of a Date stay writable when frozen, so a result holding any of them is
 * given to each caller as a structured clone of the kept value instead.
 * @module
 */

/** A result made ready for keeping: how to deliver it and about how many bytes it holds. @internal */
export interface Protected {
  /** Each caller gets a structured clone; otherwise the value itself (a primitive, or frozen). */
  readonly clone: boolean;
  readonly bytes: number;
}

/** Bytes counted for a primitive, an object header, and each property slot. */
const WORD = 8;
const HEADER = 16;

/**
 * Weighs `value` (an estimate of its memory: strings 2 bytes a character, buffers their length,
 * 16 per object and 8 per slot) and, in `freeze` mode, deep-freezes it when freezing protects
 * it. Walks the value once.
 * @internal
 */
export function protect(value: unknown, freeze: boolean): Protected {
  if (typeof value !== 'object' || value === null) return { clone: false, bytes: weigh(value) };
  const walk = { bytes: 0, freezable: freeze, seen: new Set<object>() };
  visit(value, walk);
  if (walk.freezable) deepFreeze(value, new Set());
  return { clone: !walk.freezable, bytes: walk.bytes };
}

/** Hands a kept value to one caller. @internal */
export function deliver(value: unknown, clone: boolean): unknown {
  return clone ? structuredClone(value) : value;
}

interface Walk {
  bytes: number;
  freezable: boolean;
  readonly seen: Set<object>;
}

function weigh(value: unknown): number {
  return typeof value === 'string' ? HEADER + 2 * value.length : WORD;
}

function visit(value: unknown, walk: Walk): void {
  if (typeof value !== 'object' || value === null) {
    walk.bytes += weigh(value);
    return;
  }
  if (walk.seen.has(value)) return;
  walk.seen.add(value);
  walk.bytes += HEADER;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    walk.bytes += value.byteLength;
    walk.freezable = false;
    return;
  }
  if (value instanceof Map) {
    walk.freezable = false;
    for (const [key, entry] of value) {
      visit(key, walk);
      visit(entry, walk);
    }
    return;
  }
  if (value instanceof Set) {
    walk.freezable = false;
    for (const entry of value) visit(entry, walk);
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) walk.freezable = false;
  for (const key of Object.keys(value)) {
    walk.bytes += WORD + (Array.isArray(value) ? 0 : weigh(key));
    visit((value as Record<string, unknown>)[key], walk);
  }
}

function deepFreeze(value: object, seen: Set<object>): void {
  if (seen.has(value)) return;
  seen.add(value);
  Object.freeze(value);
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null) deepFreeze(child, seen);
  }
}
