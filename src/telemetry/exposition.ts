import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import type { Exemplar } from './accumulators.js';

/** The Prometheus text format's content type. */
export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
/** The OpenMetrics text format's content type. */
export const OPENMETRICS_TEXT = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * Whether an Accept header asks for OpenMetrics, as Prometheus's does when it can read it.
 * @internal
 */
export function acceptsOpenMetrics(accept: string | undefined): boolean {
  return (accept ?? '').includes('application/openmetrics-text');
}

/**
 * Renders a registry in either format without touching the registry's metric objects.
 *
 * prom-client 15 renders OpenMetrics by renaming every counter *in place* (it drops `_total`
 * from the metric object's name), which breaks each later text-format scrape of the same
 * registry. So both formats are rendered here from `getMetricsAsJSON()`, which only reads.
 * @internal
 */
export async function renderRegistry(registry: Registry, openMetrics: boolean): Promise<string> {
  const metrics = await registry.getMetricsAsJSON();
  const families = metrics.map((metric) => renderFamily(metric, openMetrics));
  return openMetrics ? `${families.join('\n')}\n# EOF\n` : `${families.join('\n\n')}\n`;
}

function renderFamily(metric: MetricObjectWithValues<MetricValue<string>>, openMetrics: boolean): string {
  const isCounter = metric.type === ('counter' as never);
  // OpenMetrics names a counter family without `_total` and its samples with it.
  const base = isCounter ? metric.name.replace(/_total$/, '') : metric.name;
  const family = openMetrics ? base : isCounter ? `${base}_total` : metric.name;
  const lines = [`# HELP ${family} ${escapeHelp(metric.help)}`, `# TYPE ${family} ${String(metric.type)}`];
  for (const value of metric.values) {
    const sample = value as MetricValue<string> & { metricName?: string; exemplar?: Exemplar };
    let name = sample.metricName ?? metric.name;
    if (isCounter) name = `${name.replace(/_total$/, '')}_total`;
    let line = `${name}${renderLabels(sample.labels)} ${renderNumber(sample.value)}`;
    // The Prometheus text format has no exemplars; OpenMetrics puts them after the value.
    const exemplar = sample.exemplar;
    if (openMetrics && exemplar !== undefined) {
      line += ` # ${renderLabels(exemplar.labelSet, true)} ${renderNumber(exemplar.value)} ${exemplar.timestamp.toFixed(3)}`;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

function renderLabels(labels: Partial<Record<string, string | number>>, braces = false): string {
  const parts = Object.entries(labels)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}="${escapeLabel(String(value))}"`);
  return parts.length > 0 || braces ? `{${parts.join(',')}}` : '';
}

function renderNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
