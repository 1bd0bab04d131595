/**
 * Many small results of one shape, packed for the trip from a pool thread to the main thread.
 *
 * Tasks like tokenization return, per item, a plain object of a few numbers and small typed
 * arrays. Structured clone writes every property name of every object and gives every typed
 * array its own buffer: an allocation on each side and garbage for the collector, per item.
 * Packed, a chunk's objects of one shape travel as one column per property: numbers in a
 * Float64Array, booleans in a Uint8Array, and the bytes of every typed array in one buffer,
 * moved without a copy. On the main thread each item becomes its object again, with its typed
 * arrays as views on that buffer.
 *
 * A value is packed only when the result is indistinguishable but for those buffers: a plain
 * object whose own enumerable properties are all numbers, booleans or small typed arrays of a
 * built-in type (not on a SharedArrayBuffer, each a distinct object). Anything else travels as
 * before, item by item.
 * @module
 */

/** Typed arrays larger than this travel on their own (a copy per item costs little beside them). */
export const PACK_MAX_BYTES = 64 * 1024;

/** The typed array types that are packed, by name. */
export const VIEW_TYPES = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;

type ViewType = keyof typeof VIEW_TYPES;
type View = InstanceType<(typeof VIEW_TYPES)[ViewType]>;

const typeOf = new Map<unknown, ViewType>(
  Object.entries(VIEW_TYPES).map(([name, ctor]) => [ctor.prototype, name as ViewType]),
);

/** One property of every packed value. */
export type PackedColumn =
  | { readonly kind: 'number'; readonly values: Float64Array }
  | { readonly kind: 'boolean'; readonly values: Uint8Array }
  | {
      readonly kind: 'view';
      readonly type: ViewType;
      /** Byte offset of each item's array in the buffer. */
      readonly offsets: Float64Array;
      /** Element count of each item's array. */
      readonly lengths: Float64Array;
    };

/** The packed values of a chunk: item `i` of the chunk is packed row `rows[i]`, or -1 if not packed. */
export interface PackedValues {
  readonly keys: readonly string[];
  readonly columns: readonly PackedColumn[];
  /** Every packed typed array's bytes; moved to the main thread. */
  readonly buffer: ArrayBuffer;
  readonly rows: Int32Array;
}

/** The property kinds of a packable value, in key order; undefined when it cannot be packed. */
function shapeOf(value: unknown): { keys: string[]; kinds: (ViewType | 'number' | 'boolean')[] } | undefined {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return undefined;
  const keys = Object.keys(value);
  // An own "__proto__" cannot be rebuilt by assignment.
  if (keys.length === 0 || keys.includes('__proto__')) return undefined;
  const kinds: (ViewType | 'number' | 'boolean')[] = [];
  for (const key of keys) {
    const kind = kindOf((value as Record<string, unknown>)[key]);
    if (kind === undefined) return undefined;
    kinds.push(kind);
  }
  return { keys, kinds };
}

function kindOf(field: unknown): ViewType | 'number' | 'boolean' | undefined {
  if (typeof field === 'number') return 'number';
  if (typeof field === 'boolean') return 'boolean';
  if (typeof field !== 'object' || field === null) return undefined;
  const type = typeOf.get(Object.getPrototypeOf(field));
  if (type === undefined) return undefined;
  const view = field as View;
  if (!(view.buffer instanceof ArrayBuffer) || view.byteLength > PACK_MAX_BYTES) return undefined;
  // A detached buffer (moved elsewhere) reads as empty: structured clone refuses it, and so must
  // the pack (Node 20 has no ArrayBuffer#detached). An empty array merely travels unpacked.
  if (view.buffer.byteLength === 0) return undefined;
  return type;
}

/** Whether `value` has exactly the shape (same keys in the same order, same kinds). */
function fits(value: unknown, keys: readonly string[], kinds: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return false;
  const own = Object.keys(value);
  if (own.length !== keys.length) return false;
  let views: unknown[] | undefined;
  for (let k = 0; k < keys.length; k++) {
    if (own[k] !== keys[k]) return false;
    const field = (value as Record<string, unknown>)[keys[k] as string];
    if (kindOf(field) !== kinds[k]) return false;
    if (typeof field === 'object') {
      // One typed array under two names is one object after a clone, two views once packed.
      if (views?.includes(field) === true) return false;
      (views ??= []).push(field);
    }
  }
  return true;
}

/**
 * Packs the values that share the shape of the first packable one, leaving out the offsets in
 * `skip`; undefined when fewer than two would be packed (a pack of one saves nothing). Packed
 * values are left in `values` for the caller to replace.
 */
export function packValues(values: readonly unknown[], skip?: ReadonlySet<number>): PackedValues | undefined {
  let shape: ReturnType<typeof shapeOf>;
  let start = 0;
  for (; start < values.length && shape === undefined; start++)
    if (skip?.has(start) !== true) shape = shapeOf(values[start]);
  if (shape === undefined) return undefined;
  const { keys, kinds } = shape;
  const rows = new Int32Array(values.length).fill(-1);
  let count = 0;
  let bytes = 0;
  for (let i = start - 1; i < values.length; i++) {
    const value = values[i] as Record<string, unknown>;
    if (skip?.has(i) === true || !fits(value, keys, kinds)) continue;
    rows[i] = count++;
    for (let k = 0; k < keys.length; k++) {
      if (kinds[k] === 'number' || kinds[k] === 'boolean') continue;
      // Every array starts 8-byte aligned, as the widest element type needs.
      bytes += ((value[keys[k] as string] as View).byteLength + 7) & ~7;
    }
  }
  if (count < 2) return undefined;
  const buffer = new ArrayBuffer(bytes);
  const columns = kinds.map((kind): PackedColumn => {
    if (kind === 'number') return { kind, values: new Float64Array(count) };
    if (kind === 'boolean') return { kind, values: new Uint8Array(count) };
    return { kind: 'view', type: kind, offsets: new Float64Array(count), lengths: new Float64Array(count) };
  });
  let offset = 0;
  for (let i = 0; i < values.length; i++) {
    const row = rows[i] as number;
    if (row < 0) continue;
    const value = values[i] as Record<string, unknown>;
    for (let k = 0; k < keys.length; k++) {
      const column = columns[k] as PackedColumn;
      const field = value[keys[k] as string];
      if (column.kind === 'number') column.values[row] = field as number;
      else if (column.kind === 'boolean') column.values[row] = field === true ? 1 : 0;
      else {
        const view = field as View;
        new Uint8Array(buffer, offset, view.byteLength).set(
          new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
        );
        column.offsets[row] = offset;
        column.lengths[row] = view.length;
        offset += (view.byteLength + 7) & ~7;
      }
    }
  }
  return { keys, columns, buffer, rows };
}

/** Rebuilds packed row `row`: a fresh object whose typed arrays are views on the packed buffer. */
export function unpackValue(packed: PackedValues, row: number): Record<string, unknown> {
  const { keys, columns, buffer } = packed;
  const value: Record<string, unknown> = {};
  for (let k = 0; k < keys.length; k++) {
    const column = columns[k] as PackedColumn;
    const key = keys[k] as string;
    if (column.kind === 'number') value[key] = column.values[row];
    else if (column.kind === 'boolean') value[key] = column.values[row] === 1;
    else value[key] = new VIEW_TYPES[column.type](buffer, column.offsets[row], column.lengths[row]);
  }
  return value;
}
