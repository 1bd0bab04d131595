/**
 * Declarations of task metrics (`defineTask(fn, { metrics })`): their checks, their canonical
 * form, and how the declarations of a module's tasks are reconciled into one set of metrics.
 * Both sides use it: the worker when a task is defined and when its module loads, the main
 * thread when a thread's hello announces them.
 * @module
 */
import { describe } from '../internal/validate.js';
import { labelNameProblem, metricNameProblem } from './naming.js';

/** The kind of a task metric, as Prometheus knows it. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** How a task declares one of its metrics: the values of `defineTask`'s `metrics` option. */
export interface MetricDeclaration {
  /**
   * `counter`: only goes up (`ctx.metrics.inc`); its name ends in `_total`. `gauge`: a value
   * that is set (`set`) or moved (`inc`, by any finite amount). `histogram`: observations
   * (`observe`) counted in buckets.
   */
  type: MetricType;
  /** The `# HELP` text: what it counts, and in which unit. */
  help: string;
  /** The labels its series may carry. @default [] */
  labelNames?: readonly string[] | undefined;
  /**
   * Histograms only: the buckets' upper bounds, ascending (`+Inf` is implied).
   * @default [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] (prom-client's)
   */
  buckets?: readonly number[] | undefined;
  /**
   * The most label sets (series) the metric keeps, per thread and per orchestrator; values of
   * later new label sets are counted under one series whose every label is `other`.
   * @default 100
   */
  maxSeries?: number | undefined;
}

/** A task's metric declarations, by metric name. */
export type MetricDeclarations = Readonly<Record<string, MetricDeclaration>>;

/** A declaration checked and completed: what threads announce and the main thread registers. */
export interface MetricSpec {
  readonly type: MetricType;
  readonly help: string;
  /** Sorted, so that two tasks naming the same labels in another order declare one metric. */
  readonly labelNames: readonly string[];
  /** Histograms: the upper bounds, ascending, without `+Inf`; other types: empty. */
  readonly buckets: readonly number[];
  readonly maxSeries: number;
}

/** prom-client's default histogram buckets. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The default of {@link MetricDeclaration.maxSeries}. */
export const DEFAULT_MAX_SERIES = 100;

/** The value of every label of the series that takes the label sets past a metric's `maxSeries`. */
export const OVERFLOW_LABEL = 'other';

/** The highest {@link MetricDeclaration.maxSeries} accepted. */
export const MAX_SERIES_LIMIT = 10_000;

const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram'];
const FIELDS = new Set(['type', 'help', 'labelNames', 'buckets', 'maxSeries']);

/**
 * Checks `defineTask`'s `metrics` option and returns each declaration in its canonical form.
 * @throws TypeError or RangeError naming the field (`metrics.tokens_total.type`) and its value.
 */
export function checkDeclarations(metrics: unknown): Record<string, MetricSpec> {
  const fail = (field: string, expected: string, value: unknown, range = false): never => {
    const message = `defineTask(fn, options): ${field} must be ${expected}, got ${describe(value)}`;
    throw range ? new RangeError(message) : new TypeError(message);
  };
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics))
    fail('metrics', 'an object of metric declarations by name', metrics);
  const specs: Record<string, MetricSpec> = {};
  for (const [name, declaration] of Object.entries(metrics as Record<string, unknown>)) {
    const at = `metrics.${name}`;
    if (typeof declaration !== 'object' || declaration === null)
      fail(at, 'a declaration { type, help, labelNames?, buckets?, maxSeries? }', declaration);
    const fields = declaration as Record<string, unknown>;
    const unknown = Object.keys(fields).find((field) => !FIELDS.has(field));
    if (unknown !== undefined)
      fail(`${at}.${unknown}`, `absent (a declaration has ${[...FIELDS].join(', ')})`, fields[unknown]);
    const type = fields['type'];
    if (!TYPES.includes(type as MetricType)) fail(`${at}.type`, '"counter", "gauge" or "histogram"', type);
    const problem = metricNameProblem(name, type as MetricType);
    if (problem !== undefined) fail(`the name of ${at}`, problem, name);
    const help = fields['help'];
    if (typeof help !== 'string' || help.trim() === '') fail(`${at}.help`, 'a non-empty string', help);
    const labelNames = fields['labelNames'] ?? [];
    if (!Array.isArray(labelNames)) fail(`${at}.labelNames`, 'an array of label names', labelNames);
    (labelNames as unknown[]).forEach((label, i) => {
      const labelProblem = typeof label === 'string' ? labelNameProblem(label) : 'a string';
      if (labelProblem !== undefined) fail(`${at}.labelNames[${i}]`, labelProblem, label);
      if ((labelNames as unknown[]).indexOf(label) !== i)
        fail(`${at}.labelNames[${i}]`, 'a label not listed twice', label);
    });
    const buckets = fields['buckets'];
    if (buckets !== undefined && type !== 'histogram')
      fail(`${at}.buckets`, 'absent: only histograms have buckets', buckets);
    if (buckets !== undefined) checkBuckets(`${at}.buckets`, buckets, fail);
    const maxSeries = fields['maxSeries'] ?? DEFAULT_MAX_SERIES;
    if (
      typeof maxSeries !== 'number' ||
      !Number.isInteger(maxSeries) ||
      maxSeries < 1 ||
      maxSeries > MAX_SERIES_LIMIT
    )
      fail(
        `${at}.maxSeries`,
        `an integer from 1 to ${MAX_SERIES_LIMIT}`,
        maxSeries,
        typeof maxSeries === 'number',
      );
    specs[name] = {
      type: type as MetricType,
      help: help as string,
      labelNames: [...(labelNames as string[])].sort(),
      buckets: type === 'histogram' ? [...((buckets as number[] | undefined) ?? DEFAULT_BUCKETS)] : [],
      maxSeries: maxSeries as number,
    };
  }
  return specs;
}

function checkBuckets(
  field: string,
  buckets: unknown,
  fail: (field: string, expected: string, value: unknown, range?: boolean) => never,
): void {
  if (!Array.isArray(buckets) || buckets.length === 0)
    fail(field, 'a non-empty array of upper bounds', buckets);
  (buckets as unknown[]).forEach((bound, i) => {
    if (typeof bound !== 'number') fail(`${field}[${i}]`, 'a finite number', bound);
    if (!Number.isFinite(bound)) fail(`${field}[${i}]`, 'a finite number (+Inf is implied)', bound, true);
    const before = (buckets as number[])[i - 1];
    if (before !== undefined && bound <= before)
      fail(`${field}[${i}]`, `greater than the bound before it (${before})`, bound, true);
  });
}

/** How one declaration differs from another, in words; undefined when they are the same. */
export function specDifference(a: MetricSpec, b: MetricSpec): string | undefined {
  if (a.type !== b.type) return `a ${a.type} against a ${b.type}`;
  if (a.help !== b.help) return `help ${describe(a.help)} against ${describe(b.help)}`;
  if (a.labelNames.join() !== b.labelNames.join())
    return `labelNames ${describe(a.labelNames)} against ${describe(b.labelNames)}`;
  if (a.buckets.join() !== b.buckets.join())
    return `buckets ${describe(a.buckets)} against ${describe(b.buckets)}`;
  if (a.maxSeries !== b.maxSeries) return `maxSeries ${a.maxSeries} against ${b.maxSeries}`;
  return undefined;
}

/** A module's task metrics, once each, and the tasks whose declarations conflict. */
export interface ReconciledMetrics {
  /** Each metric some tasks declare alike, with those tasks. */
  readonly metrics: ReadonlyMap<string, { readonly spec: MetricSpec; readonly tasks: readonly string[] }>;
  /** Tasks that declare a metric differently from another task, with the message saying how. */
  readonly conflicts: ReadonlyMap<string, string>;
}

/**
 * Reconciles the declarations of a module's tasks. Tasks may share a metric by declaring it
 * alike (then their values add up in one metric); a metric that two tasks declare differently
 * is not registered, and every task declaring it is refused with a message naming both.
 */
export function reconcile(
  perTask: Readonly<Record<string, Readonly<Record<string, MetricSpec>>>>,
): ReconciledMetrics {
  const byName = new Map<string, { spec: MetricSpec; tasks: string[] }>();
  const conflicts = new Map<string, string>();
  const clashing = new Map<string, string>();
  for (const [task, specs] of Object.entries(perTask)) {
    for (const [name, spec] of Object.entries(specs)) {
      const entry = byName.get(name);
      if (entry === undefined) {
        byName.set(name, { spec, tasks: [task] });
        continue;
      }
      entry.tasks.push(task);
      const difference = specDifference(entry.spec, spec);
      if (difference !== undefined && !clashing.has(name)) {
        const first = entry.tasks[0] ?? '';
        clashing.set(
          name,
          `Metric "${name}" is declared differently by tasks "${first}" and "${task}" (${difference}); ` +
            'tasks that share a metric must declare it alike',
        );
      }
    }
  }
  for (const [name, message] of clashing) {
    for (const task of byName.get(name)?.tasks ?? []) if (!conflicts.has(task)) conflicts.set(task, message);
    byName.delete(name);
  }
  return { metrics: byName, conflicts };
}
