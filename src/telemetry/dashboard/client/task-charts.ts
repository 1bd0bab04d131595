// The task metrics' charts (issue #17): one card per metric the tasks record, made when the
// metric first appears in a frame. Loaded after charts.ts, before main.ts.

type TaskMetricFrame = import('../schema.js').TaskMetricFrame;
type TaskMetricSeries = import('../schema.js').TaskMetricSeries;

/** Lines per chart at most: the series with the largest values get them. */
const MAX_TASK_LINES = 8;
/** Histogram series drawn at most (each as p50 and p99). */
const MAX_HISTOGRAM_SERIES = 3;

/** A series' name in a legend: its labels, or the metric's name when it has none. */
function seriesLabel(metric: TaskMetricFrame, series: TaskMetricSeries): string {
  const labels = Object.entries(series.labels).map(([label, value]) => `${label}=${value}`);
  return labels.length === 0 ? metric.name : labels.join(', ');
}

/** The history key prefix of a metric's lines. */
function taskKey(metric: { name: string }): string {
  return `tm:${metric.name}|`;
}

/** How a metric's values read: seconds for `_seconds` metrics, plain numbers otherwise. */
function taskFormat(metric: { name: string }): (value: number) => string {
  return metric.name.endsWith('_seconds') ? formatSeconds : formatNumber;
}

/**
 * A frame's values of a metric, for the history: counters as a rate per second, gauges as they
 * are, histograms as the window's p50 and p99; only the largest series get a line.
 */
function taskMetricValues(
  metric: TaskMetricFrame,
  seconds: number | null,
): { values: Record<string, number | null>; shown: number } {
  const values: Record<string, number | null> = {};
  const histogram = metric.type === 'histogram';
  const ranked = [...metric.series].sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const shown = ranked.slice(0, histogram ? MAX_HISTOGRAM_SERIES : MAX_TASK_LINES);
  for (const series of shown) {
    const key = `${taskKey(metric)}${seriesLabel(metric, series)}`;
    if (metric.type === 'gauge') values[key] = series.value;
    else if (metric.type === 'counter')
      values[key] = series.window === null || !seconds ? null : series.window / seconds;
    else {
      values[`${key}|p50`] = series.observations?.window?.p50 ?? null;
      values[`${key}|p99`] = series.observations?.window?.p99 ?? null;
    }
  }
  return { values, shown: shown.length };
}

/** The chart of one task metric. */
function taskChartSpec(metric: TaskMetricFrame): ChartSpec {
  const format = taskFormat(metric);
  const rate = (value: number): string => `${format(value)}/s`;
  const prefix = taskKey(metric);
  return {
    id: `task:${metric.name}`,
    lines: (history) =>
      history.keys(prefix).map((key) => {
        const [label = '', stat] = key.slice(prefix.length).split('|');
        const name = stat === undefined ? label : `${label} ${stat}`;
        return {
          key,
          label: name,
          color: colorOf(`${metric.name}|${label}`),
          ...(stat === 'p99' && { width: 2.5 }),
          ...(stat === 'p50' && { dash: [5, 4] }),
          format: metric.type === 'counter' ? rate : format,
        };
      }),
    scales: {
      y:
        metric.type === 'gauge'
          ? {}
          : {
              range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [
                0,
                Math.max(1e-9, max * 1.1),
              ],
            },
    },
    axes: [['y', metric.type === 'counter' ? rate : format]],
    empty: 'nothing recorded yet',
  };
}
