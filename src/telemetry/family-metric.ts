/**
 * One metric family backed by plain accumulators, as prom-client's Registry sees a metric.
 * @internal
 * @module
 */

/** A sample with its labels, as prom-client's MetricObject wants it. */
export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

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
