/**
 * The dashboard's task metrics (issue #17): read from the registry like every other series, by
 * the mark their families put on prom-client's JSON, and turned into frame fields.
 * @internal
 * @module
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { TaskMetricMark } from '../../task-metrics/families.js';
import { histogramDelta, summarize } from './quantile.js';
import type { CumulativeHistogram, OrchestratorReading } from './reading.js';
import type { ObservationSummary, TaskMetricFrame, TaskMetricSeries } from './schema.js';

/** One label set of a task metric: its value, and for a histogram its buckets. */
export interface TaskSeriesReading {
  labels: Record<string, string>;
  /** Counter, gauge: the value; histogram: the observations' count. */
  value: number;
  histogram: CumulativeHistogram | undefined;
}

/** A task metric of one orchestrator. */
export interface TaskMetricReading {
  /** As the tasks declare it. */
  name: string;
  /** As exported. */
  metric: string;
  type: TaskMetricFrame['type'];
  help: string;
  /** Keyed by the labels' JSON, sorted by name. */
  series: Map<string, TaskSeriesReading>;
}

type Metric = MetricObjectWithValues<MetricValue<string>> & { taskMetric?: TaskMetricMark };
type Sample = MetricValue<string> & { metricName?: string };
type Labels = Partial<Record<string, string | number>>;

/**
 * Reads the task metrics of `prefix` into their orchestrators' readings.
 * @param identity - labels that tell orchestrators apart (not a series' own).
 * @param entry - the reading of the orchestrator a sample's labels name.
 */
export function readTaskMetrics(
  metrics: Iterable<Metric>,
  prefix: string,
  identity: ReadonlySet<string>,
  entry: (labels: Labels) => OrchestratorReading,
): void {
  for (const metric of metrics) {
    const mark = metric.taskMetric;
    if (mark?.prefix !== prefix) continue;
    const type = String(metric.type) as TaskMetricFrame['type'];
    const series = (labels: Labels): TaskSeriesReading => {
      const reading = entry(labels);
      let read = reading.taskMetrics.get(mark.name);
      if (read === undefined) {
        read = { name: mark.name, metric: metric.name, type, help: metric.help, series: new Map() };
        reading.taskMetrics.set(mark.name, read);
      }
      const own: Record<string, string> = {};
      for (const [label, value] of Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))) {
        if (label !== 'le' && !identity.has(label) && value !== undefined) own[label] = String(value);
      }
      const key = JSON.stringify(own);
      let found = read.series.get(key);
      if (found === undefined) {
        found = {
          labels: own,
          value: 0,
          histogram: type === 'histogram' ? { le: [], cumulative: [], sum: 0 } : undefined,
        };
        read.series.set(key, found);
      }
      return found;
    };
    for (const sample of metric.values as Sample[]) {
      const target = series(sample.labels);
      const histogram = target.histogram;
      if (histogram === undefined) target.value = sample.value;
      else if (sample.metricName === `${metric.name}_bucket`) {
        const le = sample.labels['le'];
        histogram.le.push(le === '+Inf' || le === undefined ? Number.POSITIVE_INFINITY : Number(le));
        histogram.cumulative.push(sample.value);
      } else if (sample.metricName === `${metric.name}_sum`) histogram.sum = sample.value;
      else if (sample.metricName === `${metric.name}_count`) target.value = sample.value;
    }
  }
}

/**
 * The frame fields of an orchestrator's task metrics.
 * @param previous - the same orchestrator in the previous reading; `undefined` when it was not
 *   there yet, `null` when there was no previous reading (then there are no windows).
 */
export function taskMetricFrames(
  current: OrchestratorReading,
  previous: OrchestratorReading | undefined | null,
): TaskMetricFrame[] {
  return [...current.taskMetrics.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((metric) => {
      const before = previous === null ? null : previous?.taskMetrics.get(metric.name);
      const series = [...metric.series.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, read]) =>
          seriesFrame(metric.type, read, before === null ? null : before?.series.get(key)),
        );
      return { name: metric.name, metric: metric.metric, type: metric.type, help: metric.help, series };
    });
}

function seriesFrame(
  type: TaskMetricFrame['type'],
  current: TaskSeriesReading,
  previous: TaskSeriesReading | undefined | null,
): TaskMetricSeries {
  const { labels, value, histogram } = current;
  // A value that went down was reset (its orchestrator closed and another took its name).
  const increase =
    previous === null
      ? null
      : value - (previous === undefined || previous.value > value ? 0 : previous.value);
  if (histogram === undefined) return { labels, value, window: type === 'gauge' ? null : increase };
  const windowed = previous === null ? null : histogramDelta(histogram, previous?.histogram);
  return {
    labels,
    value,
    window: increase,
    observations: { total: observed(histogram), window: windowed === null ? null : observed(windowed) },
  };
}

function observed(histogram: CumulativeHistogram): ObservationSummary {
  return { ...summarize(histogram), sum: histogram.sum };
}
