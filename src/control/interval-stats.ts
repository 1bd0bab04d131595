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
  #completed = 0;
  #workerMs = 0;
  #atLimit = 0;
  #atLimitMs = 0;
  #limit: number | undefined;
  #changedAt = Number.NEGATIVE_INFINITY;
  #boundStreak = 0;

  /**
   * Counts a run (or a map item) that finished at `now` after `workerMs` in the worker. Its
   * start is taken as `now - workerMs`: a run is reported as it settles, so at most the
   * settling delay late, which can only make an early run look later, never the reverse.
   */
  record(workerMs: number, now: number): void {
    this.#completed++;
    this.#workerMs += workerMs;
    if (now - workerMs >= this.#changedAt) {
      this.#atLimit++;
      this.#atLimitMs += workerMs;
    }
  }

  /** Notes the limit in force at `now`; a new value starts a new "at limit" epoch. */
  limitIs(limit: number, now: number): void {
    if (limit === this.#limit) return;
    // The first limit seen is the one every run so far ran under.
    if (this.#limit !== undefined) {
      this.#changedAt = now;
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
    return figures;
  }
}
