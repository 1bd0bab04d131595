/**
 * An exponentially weighted moving average, as every per-task cost estimate here keeps one
 * (map and pipeline batch sizes, queue job sizes, coalescing, the standby ticket).
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
