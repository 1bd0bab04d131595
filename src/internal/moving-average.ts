/**
 * An exponentially weighted moving average, as every per-task cost estimate here keeps one
 * (map and pipeline batch sizes, queue job sizes, coalescing, the standby ticket), and the
 * warmed-up estimate built on it for costs whose first samples pay a cold start.
 * @module
 */

/**
 * The average after one more sample: the sample itself when there is none yet, else `weight`
 * of the way from the previous average towards it.
 * @param previous - the average so far; undefined before the first sample.
 * @param sample - the new observation.
 * @param weight - how much the newest sample counts, in (0, 1].
 * @internal
 */
export function movingAverage(previous: number | undefined, sample: number, weight: number): number {
  return previous === undefined ? sample : previous + weight * (sample - previous);
}

/**
 * A cost estimate that forgets a cold start: the fastest of the first `warmUpSamples` samples,
 * then a moving average of weight `weight` from there.
 *
 * A thread's first run of a task often pays for loading it (the shipped tokenizer loads its
 * encoder: ~116 ms against ~0.1 ms), and each of the first threads may pay it; a moving average
 * seeded with it takes dozens of samples to forget (some 30 at a tenth's weight). A cold start
 * is only ever slower, so the fastest early sample is the one to trust.
 * @internal
 */
export class WarmedEstimate {
  readonly #weight: number;
  readonly #warmUpSamples: number;
  #ms: number | undefined;
  #samples = 0;

  /**
   * @param weight - how much each sample after the warm-up counts, in (0, 1].
   * @param warmUpSamples - the first samples, of which the fastest is the estimate.
   */
  constructor(weight: number, warmUpSamples: number) {
    this.#weight = weight;
    this.#warmUpSamples = warmUpSamples;
  }

  /** The estimate; undefined before the first sample. */
  get ms(): number | undefined {
    return this.#ms;
  }

  /** Takes one sample into the estimate; one that is not a finite number ≥ 0 is ignored. */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#samples++;
    this.#ms =
      this.#samples <= this.#warmUpSamples
        ? Math.min(this.#ms ?? ms, ms)
        : movingAverage(this.#ms, ms, this.#weight);
  }
}
