/**
 * Names of task metrics and of their labels: what Prometheus accepts, and what `promtool check
 * metrics` lints (the rules of client_golang's promlint). A task metric is exported under the
 * orchestrator's prefix, so a name is checked as the part after an underscore.
 * @internal
 * @module
 */
import type { MetricType } from './declaration.js';

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const CAMEL_CASE = /[a-z][A-Z]/;

/** The metrics an orchestrator itself exports (after its prefix). */
export const ORCHESTRATOR_METRICS: readonly string[] = [
  'queue_depth',
  'gpu_wait_seconds',
  'concurrency_limit',
  'concurrency_min_limit',
  'tasks_in_flight',
  'pool_threads',
  'cpu_load_ratio',
  'gpu_utilization_ratio',
  'error_rate_ratio',
  'tasks_total',
  'task_errors_total',
  'limit_changes_total',
  'task_duration_seconds',
  'task_wait_seconds',
  'batch_size',
  'cache_hits_total',
  'cache_misses_total',
  'cache_deduplicated_total',
  'cache_evictions_total',
  'cache_bytes',
  'cache_entries',
  'stage_items_in_total',
  'stage_items_out_total',
  'stage_items_failed_total',
  'stage_seconds_total',
  'tenant_queue_depth',
  'tenant_running',
  'tenant_starts_total',
  'resource_limit',
  'resource_units_in_use',
  'resource_wait_seconds',
];

/** The metrics a QueueNode adds beside its orchestrator's, under the same prefix. */
export const QUEUE_NODE_METRICS: readonly string[] = [
  'node_jobs_total',
  'node_jobs_active',
  'node_job_concurrency',
  'cluster_jobs',
];

/** The names a task metric may not take: those the orchestrator, or a QueueNode, exports itself. */
export const BUILT_IN_METRICS: readonly string[] = [...ORCHESTRATOR_METRICS, ...QUEUE_NODE_METRICS];

/** Label names a task metric may not declare: Prometheus's, histograms' and summaries', and ours. */
const RESERVED_LABELS = new Set(['le', 'quantile', 'orchestrator']);

/** Metric types promlint finds in names (`…_counter`, `…_gauge_…`). */
const TYPE_WORDS = ['counter', 'gauge', 'histogram', 'summary', 'gauge_histogram'];

/** Abbreviated units promlint rejects as a word of a name. */
const UNIT_ABBREVIATIONS = ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'];

/** Units promlint knows, with the base unit it wants instead. */
const UNITS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    amperes: 'amperes',
    bytes: 'bytes',
    celsius: 'celsius',
    grams: 'grams',
    joules: 'joules',
    kelvin: 'kelvin',
    meters: 'meters',
    metres: 'metres',
    seconds: 'seconds',
    volts: 'volts',
    minutes: 'seconds',
    hours: 'seconds',
    days: 'seconds',
    weeks: 'seconds',
    kelvins: 'kelvin',
    fahrenheit: 'celsius',
    rankine: 'celsius',
    inches: 'meters',
    yards: 'meters',
    miles: 'meters',
    bits: 'bytes',
    calories: 'joules',
    pounds: 'grams',
    ounces: 'grams',
  }),
);

const UNIT_PREFIXES = [
  'pico',
  'nano',
  'micro',
  'milli',
  'centi',
  'deci',
  'deca',
  'hecto',
  'kilo',
  'kibi',
  'mega',
  'mibi',
  'giga',
  'gibi',
  'tera',
  'tebi',
  'peta',
  'pebi',
];

/**
 * What is wrong with a task metric's name, or undefined if nothing. The checks are promlint's,
 * so a name that passes exports cleanly under any prefix that ends in `_`.
 */
export function metricNameProblem(name: string, type: MetricType): string | undefined {
  if (!NAME.test(name)) return 'a name of letters, digits and underscores, not starting with a digit';
  if (name.startsWith('__')) return 'a name not starting with "__" (reserved by Prometheus)';
  if (CAMEL_CASE.test(name)) return 'a snake_case name, not camelCase';
  if (BUILT_IN_METRICS.includes(name))
    return "a name other than one of the orchestrator's (or a QueueNode's) own metrics";
  const total = name.endsWith('_total');
  if (type === 'counter' && !total) return 'a counter name ending in "_total"';
  if (type !== 'counter' && total) return `a ${type} name not ending in "_total" (only counters do)`;
  if (type !== 'histogram') {
    for (const suffix of ['_bucket', '_count', '_sum']) {
      if (name.endsWith(suffix)) return `a ${type} name not ending in "${suffix}" (histograms use it)`;
    }
  }
  const words = `_${name.toLowerCase()}`;
  const hasWord = (word: string): boolean => words.includes(`_${word}_`) || words.endsWith(`_${word}`);
  const typeWord = TYPE_WORDS.find(hasWord);
  if (typeWord !== undefined) return `a name without the metric type ("${typeWord}") in it`;
  const abbreviation = UNIT_ABBREVIATIONS.find(hasWord);
  if (abbreviation !== undefined)
    return `a name without an abbreviated unit ("${abbreviation}"): spell it out, in base units`;
  for (const word of name.toLowerCase().split('_')) {
    const base = baseUnit(word);
    if (base !== undefined && base !== word) return `a name in base units ("${base}", not "${word}")`;
  }
  return undefined;
}

/** What is wrong with a label name, or undefined if nothing. */
export function labelNameProblem(name: string): string | undefined {
  if (!NAME.test(name)) return 'a label name of letters, digits and underscores, not starting with a digit';
  if (name.startsWith('__')) return 'a label name not starting with "__" (reserved by Prometheus)';
  if (CAMEL_CASE.test(name)) return 'a snake_case label name, not camelCase';
  if (RESERVED_LABELS.has(name)) return `a label name other than "${name}" (reserved)`;
  return undefined;
}

/** The base unit of a word of a name that is a unit, prefixed or not (`kilobytes` → `bytes`). */
function baseUnit(word: string): string | undefined {
  const own = UNITS.get(word);
  if (own !== undefined) return own;
  // A prefixed unit is never a base unit: it is reported against its base.
  const prefix = UNIT_PREFIXES.find((p) => word.startsWith(p) && UNITS.has(word.slice(p.length)));
  return prefix === undefined ? undefined : UNITS.get(word.slice(prefix.length));
}
