/**
 * Quantiles of a time window from the difference of two cumulative histogram readings, the
 * way Prometheus's `histogram_quantile(q, rate(…))` does it.
 *
 * Accuracy: the estimate always lies in the same bucket as the true q-quantile of the window's
 * observations (the value of rank ⌈q·n⌉), so it is off by less than that bucket's width; within
 * the bucket it interpolates linearly, as if the observations there were evenly spread. With
 * our buckets (100 µs, 250 µs, 500 µs, 1 ms, 2.5 ms, … 300 s: neighbours 2–3× apart) the
 * estimate is within a factor 2.5 of the truth (3 between 10 and 30 s); below 100 µs it is in (0, 100 µs], and a
 * quantile beyond the last finite bound reads as that bound (a lower bound of the truth).
 * @internal
 * @module
 */
import type { CumulativeHistogram } from './reading.js';
import type { LatencySummary } from './schema.js';

function total(histogram: CumulativeHistogram): number {
  return histogram.cumulative.at(-1) ?? 0;
}

function sameBounds(a: CumulativeHistogram, b: CumulativeHistogram): boolean {
  return a.le.length === b.le.length && a.le.every((le, i) => le === b.le[i]);
}

/**
 * The observations made between two readings. A series that went down was reset (its
 * orchestrator closed and another of the same name took its place): everything it holds now
 * is new, as Prometheus's `rate` assumes.
 */
export function histogramDelta(
  current: CumulativeHistogram,
  previous: CumulativeHistogram | undefined,
): CumulativeHistogram {
  if (previous === undefined || !sameBounds(current, previous)) return current;
  const cumulative = current.cumulative.map((count, i) => count - (previous.cumulative[i] ?? 0));
  if (cumulative.some((count) => count < 0)) return current;
  return { le: current.le, cumulative, sum: current.sum - previous.sum };
}

/** Counts made between two readings; a count that went down means the series was reset. */
export function counterDelta(
  current: Record<string, number>,
  previous: Record<string, number> | undefined,
): Record<string, number> {
  if (previous === undefined) return current;
  const delta: Record<string, number> = {};
  for (const [key, value] of Object.entries(current)) {
    const before = previous[key] ?? 0;
    if (value < before) return current;
    delta[key] = value - before;
  }
  return delta;
}

/**
 * The sum of histograms, e.g. of every task's. On a union of bounds when they differ (each
 * histogram then counts, at a bound it lacks, what it holds at its next lower bound).
 */
export function mergeHistograms(histograms: readonly CumulativeHistogram[]): CumulativeHistogram | undefined {
  const [first, ...rest] = histograms;
  if (first === undefined) return undefined;
  if (rest.every((histogram) => sameBounds(first, histogram))) {
    return {
      le: first.le,
      cumulative: first.le.map((_, i) => histograms.reduce((sum, h) => sum + (h.cumulative[i] ?? 0), 0)),
      sum: histograms.reduce((sum, h) => sum + h.sum, 0),
    };
  }
  const le = [...new Set(histograms.flatMap((h) => h.le))].sort((a, b) => a - b);
  const countAt = (h: CumulativeHistogram, bound: number): number => {
    let count = 0;
    h.le.forEach((own, i) => {
      if (own <= bound) count = h.cumulative[i] ?? 0;
    });
    return count;
  };
  return {
    le,
    cumulative: le.map((bound) => histograms.reduce((sum, h) => sum + countAt(h, bound), 0)),
    sum: histograms.reduce((sum, h) => sum + h.sum, 0),
  };
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of a cumulative histogram, interpolated linearly within its
 * bucket; `null` without observations.
 */
export function histogramQuantile(q: number, histogram: CumulativeHistogram): number | null {
  const n = total(histogram);
  if (!(n > 0)) return null;
  const rank = q * n;
  const { le, cumulative } = histogram;
  let i = cumulative.findIndex((count) => count >= rank);
  if (i < 0) i = cumulative.length - 1;
  const upper = le[i] ?? Number.POSITIVE_INFINITY;
  const lower = i === 0 ? 0 : (le[i - 1] ?? 0);
  if (upper === Number.POSITIVE_INFINITY) return i === 0 ? null : lower;
  const below = i === 0 ? 0 : (cumulative[i - 1] ?? 0);
  const inBucket = (cumulative[i] ?? 0) - below;
  if (inBucket <= 0) return upper;
  // Rounding must not carry the estimate past its bucket's bound.
  return Math.min(upper, lower + ((upper - lower) * (rank - below)) / inBucket);
}

/** Count, exact mean and p50/p90/p99 of a histogram (of a window, or since the start). */
export function summarize(histogram: CumulativeHistogram | undefined): LatencySummary {
  const count = histogram === undefined ? 0 : total(histogram);
  if (histogram === undefined || count === 0) {
    return { count: 0, mean: null, p50: null, p90: null, p99: null };
  }
  return {
    count,
    mean: histogram.sum / count,
    p50: histogramQuantile(0.5, histogram),
    p90: histogramQuantile(0.9, histogram),
    p99: histogramQuantile(0.99, histogram),
  };
}
