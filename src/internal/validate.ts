/**
 * Argument checks shared by the public constructors. Each throws a TypeError or RangeError whose
 * message names the field and the value it was given.
 * @module
 */

/** Renders a value for an error message without throwing on exotic inputs. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Throws unless `value` is an integer no smaller than `min`. */
export function assertInteger(field: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`${field} must be an integer >= ${min}, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${field} must be an integer >= ${min}, got ${describe(value)}`);
  }
}

/** Throws unless `value` is a finite number. */
export function assertFinite(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number')
    throw new TypeError(`${field} must be a finite number, got ${describe(value)}`);
  if (!Number.isFinite(value))
    throw new RangeError(`${field} must be a finite number, got ${describe(value)}`);
}

/** Throws unless `value` is undefined or an AbortSignal. */
export function assertOptionalSignal(
  field: string,
  value: unknown,
): asserts value is AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new TypeError(`${field} must be an AbortSignal, got ${describe(value)}`);
  }
}

/**
 * Throws unless `value` is a whole number of milliseconds no smaller than `min`, or Infinity
 * (never). Delays of any size are honoured (see long-timer.ts), so none is refused for being long.
 */
export function assertTimeout(field: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`${field} must be an integer >= ${min} (ms) or Infinity, got ${describe(value)}`);
  }
  if (!(value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= min))) {
    throw new RangeError(`${field} must be an integer >= ${min} (ms) or Infinity, got ${describe(value)}`);
  }
}
