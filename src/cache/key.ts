/**
 * Cache keys: a SHA-256 digest of a canonical serialization of a task's input, the same for
 * equal inputs in any run and any process (of one Node.js major version).
 *
 * The values tasks take most often — strings, numbers, plain objects and arrays, typed arrays
 * — are serialized by a walk here: with `v8.serialize` alone a key of a small input costs more
 * than the cache hit it enables (measured: several times a `structuredClone` of the same
 * value, most of it per-call setup), and its bytes depend on the order in which an object's
 * keys were added. Everything else a structured clone can carry (Map, Set, RegExp, Error, a
 * class instance) is handed to `v8.serialize` as a tagged, length-prefixed part.
 *
 * Canonical: an object's keys are taken in sorted order, so `{ a, b }` and `{ b, a }` give one
 * key; `-0`, `NaN` and holes in arrays keep their own encodings, because a task can tell them
 * apart. A value met twice (shared or cyclic) is written as a back-reference, as structured
 * clone keeps that sharing. Where the encoding is not canonical (the iteration order of a Map
 * or a Set, whose entries `v8.serialize` writes as they come), equal inputs may give two keys:
 * a miss, never a wrong hit. Not seen by the key: non-index properties of an array, and what
 * structured clone drops as well (prototypes, symbol keys, non-enumerable properties).
 * @module
 */
import * as crypto from 'node:crypto';
import { serialize } from 'node:v8';
import { NotCacheableError } from '../errors.js';

type Digest = (data: string | Buffer) => string;

/** String.prototype.isWellFormed (Node 20; not in the ES2023 lib). */
interface WellFormed {
  isWellFormed(): boolean;
}

// crypto.hash (Node 20.12+) is one call instead of a Hash object per key.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: string) => string })
  .hash;
const digest: Digest =
  oneShot === undefined
    ? (data) => crypto.createHash('sha256').update(data).digest('base64')
    : (data) => oneShot('sha256', data, 'base64');

/** Where the walk met a value that cannot be keyed: the path (outermost first) and why. */
class KeyFailure extends Error {
  readonly path: (string | number)[] = [];
  constructor(readonly why: string) {
    super(why);
  }
}

/** One key computation's state: the text written so far, binary parts, objects seen. */
class Writer {
  text = '';
  binary: Buffer[] | undefined;
  seen: Map<object, number> | undefined;

  bytes(tag: string, data: Buffer): void {
    (this.binary ??= []).push(data);
    this.text += `${tag}${data.byteLength};`;
  }
}

/**
 * The cache key of `input`: a base64 SHA-256 digest (44 characters).
 * @throws NotCacheableError naming the part of the input that cannot be keyed.
 */
export function inputKey(input: unknown): string {
  const writer = new Writer();
  try {
    write(writer, input);
  } catch (error) {
    if (!(error instanceof KeyFailure)) throw error;
    const path = error.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('');
    throw new NotCacheableError(
      `The input${path} ${error.why}, so the run cannot be cached; pass { cache: false } for it, ` +
        'or give the task a cacheKey',
    );
  }
  // Hashing takes UTF-8, which maps every lone surrogate to U+FFFD: such a text is escaped
  // first (JSON escapes lone surrogates; no text of the walk starts with a quote).
  const text = (writer.text as unknown as WellFormed).isWellFormed()
    ? writer.text
    : JSON.stringify(writer.text);
  if (writer.binary === undefined) return digest(text);
  const hash = crypto.createHash('sha256');
  // The text carries every binary part's tag and length, so text-then-parts is unambiguous.
  hash.update(`${text.length}:${text}`);
  for (const part of writer.binary) hash.update(part);
  return hash.digest('base64');
}

function write(w: Writer, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.text += `s${value.length}:${value}`;
      return;
    case 'number':
      w.text += Object.is(value, -0) ? 'n-0;' : `n${value};`;
      return;
    case 'boolean':
      w.text += value ? 't' : 'f';
      return;
    case 'undefined':
      w.text += 'u';
      return;
    case 'bigint':
      w.text += `b${value};`;
      return;
    case 'function':
      throw new KeyFailure('is a function');
    case 'symbol':
      throw new KeyFailure('is a symbol');
    default:
      if (value === null) w.text += 'z';
      else writeObject(w, value as object);
  }
}

function writeObject(w: Writer, value: object): void {
  const seen = (w.seen ??= new Map<object, number>());
  const earlier = seen.get(value);
  if (earlier !== undefined) {
    w.text += `r${earlier};`;
    return;
  }
  seen.set(value, seen.size);
  if (Array.isArray(value)) return writeArray(w, value);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return writePlain(w, value as Record<string, unknown>);
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof SharedArrayBuffer) throw sharedMemory();
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return w.bytes(`T${Object.prototype.toString.call(value)}`, bytes);
  }
  if (value instanceof ArrayBuffer) return w.bytes('A', Buffer.from(value));
  if (value instanceof SharedArrayBuffer) throw sharedMemory();
  if (value instanceof Date) {
    w.text += `D${value.getTime()};`;
    return;
  }
  let bytes: Buffer;
  try {
    bytes = serialize(value);
  } catch (error) {
    throw new KeyFailure(
      `cannot be structured-cloned (${error instanceof Error ? error.message : 'unknown'})`,
    );
  }
  w.bytes('V', bytes);
}

function writeArray(w: Writer, array: readonly unknown[]): void {
  w.text += `[${array.length};`;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    if (item === undefined && !(i in array)) {
      w.text += 'h';
      continue;
    }
    try {
      write(w, item);
    } catch (error) {
      throw within(error, i);
    }
  }
  w.text += ']';
}

function writePlain(w: Writer, object: Record<string, unknown>): void {
  const keys = Object.keys(object);
  if (!isSorted(keys)) keys.sort();
  w.text += `{${keys.length};`;
  for (const key of keys) {
    w.text += `${key.length}:${key}`;
    try {
      write(w, object[key]);
    } catch (error) {
      throw within(error, key);
    }
  }
  w.text += '}';
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  return true;
}

function sharedMemory(): KeyFailure {
  return new KeyFailure('is (or views) a SharedArrayBuffer, whose bytes may change after the key is made');
}

function within(error: unknown, key: string | number): unknown {
  if (error instanceof KeyFailure) error.path.unshift(key);
  return error;
}
