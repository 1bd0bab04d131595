import { limitBinds, type AdaptSample } from './sample.js';

/** The part of an {@link AdaptSample} that the runs of one interval make up. */
export type IntervalFigures = Pick<
  AdaptSample,
  'completed' | 'latencyMs' | 'latencyAtLimitMs' | 'boundStreak'
>;

/**
 * What the runs finished in one adaptation interval say: how many, their mean time in the
 * worker, the same over those that started after the limit last changed, and for how many
 * samples in a row the limit has bound.
 * @internal
 */
export class IntervalStats {
  readonly #clock: () => number;
  #completed = 0;
  #workerMs = 0;
  #atLimit = 0;
  #atLimitMs = 0;
  #limit: number | undefined;
  #changedAt = Number.NEGATIVE_INFINITY;
  /** The latest clock reading: at most now, so a start reckoned from it is never too late. */
  #seenAt = Number.NEGATIVE_INFINITY;
  #boundStreak = 0;

  /** @param clock - the time in ms. @default performance.now */
  constructor(clock: () => number = () => performance.now()) {
    this.#clock = clock;
  }

  /**
   * Counts a run (or a map item) that has just finished after `workerMs` in the worker. Its
   * start is reckoned as its end minus `workerMs`: a run is reported as it settles, at most the
   * settling delay late, which can only make an early run look later, never the reverse. The
   * clock is read only when an older reading cannot tell that the run started after the last
   * change — on the main thread, where map items settle by the million, a clock read per item
   * would cost more than the rest of the bookkeeping.
   */
  record(workerMs: number): void {
    this.#completed++;
    this.#workerMs += workerMs;
    if (this.#seenAt - workerMs < this.#changedAt) this.#seenAt = this.#clock();
    if (this.#seenAt - workerMs >= this.#changedAt) {
      this.#atLimit++;
      this.#atLimitMs += workerMs;
    }
  }

  /** Notes the limit in force now; a new value starts a new "at limit" epoch. */
  limitIs(limit: number): void {
    if (limit === this.#limit) return;
    // The first limit seen is the one every run so far ran under.
    if (this.#limit !== undefined) {
      this.#changedAt = this.#seenAt = this.#clock();
      this.#atLimit = 0;
      this.#atLimitMs = 0;
    }
    this.#limit = limit;
  }

  /** The interval's figures for a sample of the engine's state; starts the next interval. */
  take(state: Pick<AdaptSample, 'limit' | 'inFlight' | 'queueDepth'>): IntervalFigures {
    this.#boundStreak = limitBinds(state) ? this.#boundStreak + 1 : 0;
    const figures: IntervalFigures = {
      completed: this.#completed,
      latencyMs: this.#completed > 0 ? this.#workerMs / this.#completed : undefined,
      latencyAtLimitMs: this.#atLimit > 0 ? this.#atLimitMs / this.#atLimit : undefined,
      boundStreak: this.#boundStreak,
    };
    this.#completed = 0;
    this.#workerMs = 0;
    this.#atLimit = 0;
    this.#atLimitMs = 0;
    this.#seenAt = this.#clock();
    return figures;
  }
}
