/**
 * The outcomes of a run of consecutive batch items, in columns, as they cross from a pool thread
 * to the main thread. Structured clone writes every property name of every object it meets, so
 * an object per item (`{ value, ms }`) costs several times what one array of values and one
 * Float64Array of durations cost; items that did not return a value are the exception, listed
 * apart.
 * @module
 */
import { packValues, unpackValue, type PackedValues } from './packed-values.js';
import type { SerializedError } from './protocol.js';

/** An item that did not return a value: it threw (in `stage`, for a chain), or was skipped. */
export type ItemFault =
  | { readonly at: number; readonly error: SerializedError; readonly stage?: number }
  | { readonly at: number; readonly skipped: true };

/** Outcomes of items `from + i` for each offset `i`. */
export interface ItemOutcomes {
  /** The value each item returned; undefined at a fault and where `packed` holds it. */
  readonly values: unknown[];
  /** Values of one shape, packed (see packed-values.ts); their buffer is in the transfer list. */
  readonly packed?: PackedValues | undefined;
  /** The time each item itself took in the worker, in ms; NaN for a skipped item. */
  readonly ms: Float64Array;
  /** The items that did not return a value, by ascending offset; undefined when there are none. */
  readonly faults: ItemFault[] | undefined;
}

/** Collects outcomes in a pool thread, one item after another, and hands them over in columns. */
export class OutcomeColumns {
  #values: unknown[] = [];
  #ms: number[] = [];
  #faults: ItemFault[] | undefined;
  /** Offsets of values that move buffers of their own: they travel as they are. */
  #moved: Set<number> | undefined;

  /** How many outcomes are waiting. */
  get length(): number {
    return this.#values.length;
  }

  /** An item's value; `moves` when buffers of it are in the transfer list. */
  value(value: unknown, ms: number, moves = false): void {
    if (moves) (this.#moved ??= new Set()).add(this.#values.length);
    this.#values.push(value);
    this.#ms.push(ms);
  }

  error(error: SerializedError, ms: number, stage?: number): void {
    const at = this.#values.length;
    (this.#faults ??= []).push(stage === undefined ? { at, error } : { at, error, stage });
    this.#values.push(undefined);
    this.#ms.push(ms);
  }

  skipped(): void {
    (this.#faults ??= []).push({ at: this.#values.length, skipped: true });
    this.#values.push(undefined);
    this.#ms.push(Number.NaN);
  }

  /** The waiting outcomes, leaving none; values of one shape come packed. */
  take(): ItemOutcomes {
    const values = this.#values;
    const packed = packValues(values, this.#moved);
    // A packed value travels in the columns only.
    if (packed !== undefined)
      for (const [i, row] of packed.rows.entries()) if (row >= 0) values[i] = undefined;
    const taken: ItemOutcomes = {
      values,
      ms: Float64Array.from(this.#ms),
      faults: this.#faults,
      packed,
    };
    this.#values = [];
    this.#ms = [];
    this.#faults = undefined;
    this.#moved = undefined;
    return taken;
  }
}

/** Called for each outcome, in order: `fault` is undefined for an item that returned `value`. */
export type OutcomeVisitor = (
  offset: number,
  value: unknown,
  ms: number,
  fault: ItemFault | undefined,
) => void;

/** Visits every outcome in order, without an object per item. */
export function forEachOutcome(outcomes: ItemOutcomes, visit: OutcomeVisitor): void {
  const { values, ms, faults, packed } = outcomes;
  let next = 0;
  for (let i = 0; i < values.length; i++) {
    const fault = faults !== undefined && faults[next]?.at === i ? faults[next++] : undefined;
    const row = packed === undefined ? -1 : (packed.rows[i] as number);
    visit(i, row < 0 ? values[i] : unpackValue(packed as PackedValues, row), ms[i] as number, fault);
  }
}
