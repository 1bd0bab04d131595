/**
 * A metric family backed by plain-number accumulators, registered on a prom-client Registry like
 * any metric: the registry calls `get()` at scrape time.
 * @module
 */
import type { Exemplar, HistogramAccumulator } from './accumulators.js';

/** A sample with its labels, as prom-client's MetricObject wants it. */
export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  /** On a histogram bucket: its latest exemplar (rendered in OpenMetrics only). */
  exemplar?: Exemplar | undefined;
}

/** The kind of a metric family. */
export type MetricType = 'gauge' | 'counter' | 'histogram';

/**
 * A metric family backed by our accumulators. Registered on a prom-client Registry like any
 * metric: the registry calls `get()` at scrape time.
 */
export class FamilyMetric {
  readonly aggregator = 'sum';

  constructor(
    public name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly read: (family: FamilyMetric) => Sample[],
  ) {}

  get(): { name: string; help: string; type: MetricType; aggregator: string; values: Sample[] } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.read(this),
    };
  }
}

/** Pushes the samples of one histogram (buckets cumulative, then sum and count). */
export function pushHistogram(
  samples: Sample[],
  name: string,
  labels: Record<string, string>,
  histogram: HistogramAccumulator,
): void {
  let cumulative = 0;
  const exemplars = histogram.exemplars;
  const bucket = (le: number | string, value: number, i: number): Sample => {
    const sample: Sample = { labels: { ...labels, le }, value, metricName: `${name}_bucket` };
    const exemplar = exemplars?.[i];
    if (exemplar !== undefined) sample.exemplar = exemplar;
    return sample;
  };
  histogram.buckets.forEach((le, i) => {
    cumulative += histogram.counts[i] ?? 0;
    samples.push(bucket(le, cumulative, i));
  });
  samples.push(bucket('+Inf', histogram.count, histogram.buckets.length));
  samples.push({ labels, value: histogram.sum, metricName: `${name}_sum` });
  samples.push({ labels, value: histogram.count, metricName: `${name}_count` });
}
