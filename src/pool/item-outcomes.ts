/**
 * The outcomes of a run of consecutive batch items, in columns, as they cross from a pool thread
 * to the main thread. Structured clone writes every property name of every object it meets, so
 * an object per item (`{ value, ms }`) costs several times what one array of values and one
 * Float64Array of durations cost; items that did not return a value are the exception, listed
 * apart.
 * @module
 */
import type { SerializedError } from './protocol.js';

/** An item that did not return a value: it threw (in `stage`, for a chain), or was skipped. */
export type ItemFault =
  | { readonly at: number; readonly error: SerializedError; readonly stage?: number }
  | { readonly at: number; readonly skipped: true };

/** Outcomes of items `from + i` for each offset `i`. */
export interface ItemOutcomes {
  /** The value each item returned; undefined at a fault. */
  readonly values: unknown[];
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

  /** How many outcomes are waiting. */
  get length(): number {
    return this.#values.length;
  }

  value(value: unknown, ms: number): void {
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

  /** The waiting outcomes, leaving none. */
  take(): ItemOutcomes {
    const taken: ItemOutcomes = {
      values: this.#values,
      ms: Float64Array.from(this.#ms),
      faults: this.#faults,
    };
    this.#values = [];
    this.#ms = [];
    this.#faults = undefined;
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
  const { values, ms, faults } = outcomes;
  let next = 0;
  for (let i = 0; i < values.length; i++) {
    const fault = faults !== undefined && faults[next]?.at === i ? faults[next++] : undefined;
    visit(i, values[i], ms[i] as number, fault);
  }
}
