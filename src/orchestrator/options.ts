import { availableParallelism } from 'node:os';
import { resolveCache, type CacheOptions, type ResolvedCache } from '../cache/options.js';
import { resolveAdaptive, type AdaptiveConfig, type AdaptiveOptions } from '../control/config.js';
import type { ConfigIssue } from '../errors.js';
import { invalidConfig } from '../internal/config-error.js';
import { MAX_TIMER_MS } from '../internal/long-timer.js';
import { MAX_NICE } from '../pool/thread-nice.js';
import { resolveResources, resolveTenants, type SchedulingOptions } from '../scheduler/options.js';
import { metricsIssues, type MetricsOptions } from '../telemetry/metrics.js';
import { resolveTracing, type ResolvedTracing, type TracingOptions } from '../tracing/options.js';
import type { SignalsOptions } from './adaptation.js';
import type { CoalesceOptions } from './coalescer.js';
import type { EngineSettings, ResourceLimitsOption } from './engine.js';
import type { IsModuleMap, TaskMap } from './task-types.js';
import { assertModulesExist, resolveWorkerModules } from './worker-modules.js';

/** One worker module: its `defineTask` exports are the tasks, under their export names. */
export interface SingleWorkerOption {
  /** The worker module: a path (relative to the cwd) or a file URL. */
  worker: string | URL;
  /** Exclusive with `worker`. */
  workers?: undefined;
}

/** Several worker modules in one pool: their tasks are named `module.export` (`text.tokenize`). */
export interface WorkerModulesOption<W = Readonly<Record<string, string | URL>>> {
  /**
   * The modules by name (an identifier: letters, digits, `_`, `$`): each a path (relative to the
   * cwd) or a file URL. Every thread loads every module once.
   */
  workers: W;
  /** Exclusive with `workers`. */
  worker?: undefined;
}

/**
 * The worker module(s) an orchestrator runs: exactly one of `worker` and `workers`. Typed by the
 * orchestrator's task map: `workers` must name every module of a module map, with no others.
 */
export type WorkerOption<M extends TaskMap = TaskMap> = string extends keyof M
  ? SingleWorkerOption | WorkerModulesOption
  : IsModuleMap<M> extends true
    ? WorkerModulesOption<{ readonly [K in keyof M]: string | URL }>
    : SingleWorkerOption;

/** The execution options of an {@link Orchestrator} (adaptive-control options are separate). */
export interface ExecutionOptions {
  /** The starting concurrency limit. @default the machine's cores, within [minLimit, maxLimit] */
  baseLimit?: number | undefined;
  /** The lowest limit, and the threads the pool keeps alive. @default 1 */
  minLimit?: number | undefined;
  /** The highest limit, and the most threads the pool may start. @default 4 × the cores (at least minLimit and baseLimit) */
  maxLimit?: number | undefined;
  /** The most runs that may wait for a slot; beyond it, `run` rejects with ERR_QUEUE_FULL. @default Infinity */
  maxQueue?: number | undefined;
  /** How long a cancelled task may keep running before its thread is terminated (Infinity: never). @default 1000 */
  cancelGraceMs?: number | undefined;
  /** How long `close()` lets accepted work finish before cancelling it (Infinity: as long as it takes). @default 10000 */
  closeTimeoutMs?: number | undefined;
  /** How long a thread may stay idle before it retires (threads above minLimit; at most 2^31−1, or Infinity). @default 5000 */
  idleTimeoutMs?: number | undefined;
  /** Memory and stack limits for each worker thread; a task that exceeds them fails with ERR_WORKER_CRASHED. */
  resourceLimits?: ResourceLimitsOption | undefined;
  /**
   * Runs every worker thread this many nice steps (an integer 0–19) below the process's CPU
   * priority, so that when the cores are busy the main thread is scheduled first: a service's
   * event loop keeps accepting connections, shedding with 503 and answering health checks
   * promptly while tasks fill the cores. Threads still get every cycle nothing else wants, but
   * a task that allocates also waits for V8's GC helper threads, which keep the process's
   * priority: on 2 cores that cost an allocating task up to ~13% of its throughput at 10, none
   * under `node --single-threaded-gc` (README, "The event loop first"). Linux only (elsewhere
   * a thread has no priority of its own, and the option does nothing). The Fastify plugin sets
   * 10 unless told otherwise. @default 0
   */
  threadNice?: number | undefined;
  /**
   * Coalesce `run()` calls of the same task into batches of up to `maxSize` runs and about
   * `maxBatchMs` of the task's measured work, waiting at most `maxDelayMs` for a batch to fill
   * while the pool is busy. For many small runs; each run keeps its own promise, signal,
   * deadline, error and metrics. @default off
   */
  batch?: CoalesceOptions | undefined;
  /**
   * Cache results of repeated inputs: which tasks, and their bounds (see the README's "Result
   * caching"). Tasks a worker module declares with `defineTask(fn, { cache })` are cached too.
   * @default off (only the worker's declarations)
   */
  cache?: CacheOptions | undefined;
}

/** Telemetry options of an {@link Orchestrator}. */
export interface TelemetryOptions {
  /** The prom-client Registry to write to. @default a fresh Registry of the orchestrator's own */
  registry?: MetricsOptions['registry'];
  /** Prefix of every metric name. @default 'orchestrator_' */
  metricsPrefix?: string | undefined;
  /** The `orchestrator` label; needed to put two orchestrators on one registry. */
  name?: string | undefined;
  /** Also collect Node's default process metrics on the registry. @default false */
  defaultMetrics?: boolean | undefined;
  /** Keep metrics at all. @default true */
  telemetry?: boolean | undefined;
}

/** Options of {@link Orchestrator}; `M` is its task map (see {@link TaskMap}). */
export type OrchestratorOptions<M extends TaskMap = TaskMap> = WorkerOption<M> &
  ExecutionOptions &
  SchedulingOptions &
  TelemetryOptions &
  TracingOptions &
  AdaptiveOptions &
  SignalsOptions;

/** Execution settings after defaults and validation. @internal */
export interface ResolvedExecution extends EngineSettings {
  readonly closeTimeoutMs: number;
  readonly batch: CoalesceOptions | undefined;
  readonly cache: ResolvedCache | undefined;
}

/** Every option, checked and with its defaults. @internal */
export interface ResolvedOptions {
  readonly execution: ResolvedExecution;
  readonly adaptive: AdaptiveConfig;
  /** Undefined with `telemetry: false`. */
  readonly metrics: MetricsOptions | undefined;
  readonly signals: SignalsOptions;
  /** Undefined unless `tracing` is on. */
  readonly tracing: ResolvedTracing | undefined;
}

const RESOURCE_LIMITS = [
  'maxOldGenerationSizeMb',
  'maxYoungGenerationSizeMb',
  'codeRangeSizeMb',
  'stackSizeMb',
];
const SAMPLER_INTERVALS = ['intervalMs', 'gpuIntervalMs', 'probeTimeoutMs'];

/**
 * Applies the defaults and checks every option — execution, adaptive, telemetry and signals —
 * before anything is built, reporting every bad field in one error.
 * @throws InvalidConfigError naming each bad field and its value.
 * @throws WorkerNotFoundError when a worker module does not exist.
 * @internal
 */
export function resolveOptions(options: OrchestratorOptions): ResolvedOptions {
  const issues: ConfigIssue[] = [];
  const execution = resolveExecution(options, issues);
  const limits = { minLimit: execution.minLimit, maxLimit: execution.maxLimit };
  const adaptive = resolveAdaptive(options, limits, issues);
  const metrics = resolveMetrics(options, issues);
  checkSignals(options, issues);
  const tracing = resolveTracing(options.tracing, issues);
  throwIfIssues(issues);
  assertModulesExist(execution.modules);
  return { execution, adaptive, metrics, signals: options, tracing };
}

/**
 * The limits' defaults follow the machine and whatever the user did set: `baseLimit` is the
 * cores clamped into [minLimit, maxLimit], and `maxLimit` never falls below a `minLimit` or
 * `baseLimit` the user gave. Only values the user set can contradict each other.
 * @internal
 */
export function limitDefaults(options: Pick<ExecutionOptions, 'baseLimit' | 'minLimit' | 'maxLimit'>): {
  baseLimit: unknown;
  minLimit: unknown;
  maxLimit: unknown;
} {
  const cores = availableParallelism();
  // A bad value given for one limit is reported as such; it must not also skew the others' defaults.
  const given = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const minLimit = options.minLimit ?? 1;
  const maxLimit = options.maxLimit ?? Math.max(4 * cores, given(options.minLimit), given(options.baseLimit));
  const baseLimit =
    options.baseLimit ?? Math.max(given(minLimit) || 1, Math.min(given(maxLimit) || cores, cores));
  return { baseLimit, minLimit, maxLimit };
}

function resolveExecution(
  options: ExecutionOptions & SchedulingOptions & { readonly worker?: unknown; readonly workers?: unknown },
  issues: ConfigIssue[],
): ResolvedExecution {
  const { baseLimit, minLimit, maxLimit } = limitDefaults(options);
  const {
    maxQueue = Number.POSITIVE_INFINITY,
    cancelGraceMs = 1000,
    closeTimeoutMs = 10_000,
    idleTimeoutMs = 5000,
    threadNice = 0,
  } = options;
  checkInteger(issues, 'baseLimit', baseLimit, 1);
  checkInteger(issues, 'minLimit', minLimit, 1);
  checkInteger(issues, 'maxLimit', maxLimit, 1);
  checkInteger(issues, 'maxQueue', maxQueue, 0, { infinity: true });
  checkInteger(issues, 'cancelGraceMs', cancelGraceMs, 0, { infinity: true });
  checkInteger(issues, 'closeTimeoutMs', closeTimeoutMs, 0, { infinity: true });
  // Piscina arms its own idle timer, which a delay above 2^31−1 ms would fire at once.
  checkInteger(issues, 'idleTimeoutMs', idleTimeoutMs, 0, { infinity: true, max: MAX_TIMER_MS });
  checkInteger(issues, 'threadNice', threadNice, 0, { max: MAX_NICE });
  const bad = (field: string): boolean => issues.some((issue) => issue.field === field);
  if (!bad('minLimit') && !bad('maxLimit') && (minLimit as number) > (maxLimit as number)) {
    issues.push({ field: 'minLimit', value: minLimit, expected: `<= maxLimit (${String(maxLimit)})` });
  } else if (
    !bad('minLimit') &&
    !bad('maxLimit') &&
    !bad('baseLimit') &&
    ((baseLimit as number) < (minLimit as number) || (baseLimit as number) > (maxLimit as number))
  ) {
    issues.push({
      field: 'baseLimit',
      value: baseLimit,
      expected: `within [minLimit, maxLimit] = [${String(minLimit)}, ${String(maxLimit)}]`,
    });
  }
  return {
    baseLimit: baseLimit as number,
    minLimit: minLimit as number,
    maxLimit: maxLimit as number,
    maxQueue,
    cancelGraceMs,
    closeTimeoutMs,
    idleTimeoutMs,
    resourceLimits: resolveResourceLimits(options.resourceLimits, issues),
    threadNice,
    batch: resolveBatch(options.batch, issues),
    tenants: resolveTenants(options.tenants, issues),
    resources: resolveResources(options.resources, issues),
    cache: resolveCache(options.cache, issues),
    modules: resolveWorkerModules(options, issues),
  };
}

function resolveBatch(batch: unknown, issues: ConfigIssue[]): CoalesceOptions | undefined {
  if (batch === undefined) return undefined;
  if (typeof batch !== 'object' || batch === null) {
    issues.push({ field: 'batch', value: batch, expected: 'an object { maxSize, maxDelayMs }' });
    return undefined;
  }
  const { maxSize, maxDelayMs, maxBatchMs } = batch as Record<string, unknown>;
  checkInteger(issues, 'batch.maxSize', maxSize, 1);
  checkInteger(issues, 'batch.maxDelayMs', maxDelayMs, 0, { max: MAX_TIMER_MS });
  if (maxBatchMs !== undefined && !(typeof maxBatchMs === 'number' && maxBatchMs > 0)) {
    issues.push({ field: 'batch.maxBatchMs', value: maxBatchMs, expected: 'a number > 0 (or Infinity)' });
  }
  return {
    maxSize: maxSize as number,
    maxDelayMs: maxDelayMs as number,
    maxBatchMs: maxBatchMs as number | undefined,
  };
}

function resolveResourceLimits(limits: unknown, issues: ConfigIssue[]): ResourceLimitsOption | undefined {
  if (limits === undefined) return undefined;
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    issues.push({
      field: 'resourceLimits',
      value: limits,
      expected: `an object with ${RESOURCE_LIMITS.join(', ')}`,
    });
    return undefined;
  }
  for (const [key, value] of Object.entries(limits)) {
    const field = `resourceLimits.${key}`;
    if (!RESOURCE_LIMITS.includes(key))
      issues.push({ field, value, expected: `one of ${RESOURCE_LIMITS.join(', ')}` });
    else if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0))
      issues.push({ field, value, expected: 'a finite number of MB > 0' });
  }
  return limits;
}

function resolveMetrics(options: TelemetryOptions, issues: ConfigIssue[]): MetricsOptions | undefined {
  const { telemetry = true, defaultMetrics = false } = options;
  if (typeof telemetry !== 'boolean')
    issues.push({ field: 'telemetry', value: telemetry, expected: 'a boolean' });
  if (typeof defaultMetrics !== 'boolean')
    issues.push({ field: 'defaultMetrics', value: defaultMetrics, expected: 'a boolean' });
  if (!telemetry) return undefined;
  const metrics: MetricsOptions = {
    registry: options.registry,
    prefix: options.metricsPrefix,
    name: options.name,
    defaultMetrics,
  };
  issues.push(...metricsIssues(metrics));
  return metrics;
}

function checkSignals(options: SignalsOptions, issues: ConfigIssue[]): void {
  const { signals, systemSampler } = options;
  if (signals !== undefined) {
    if (!Array.isArray(signals))
      issues.push({ field: 'signals', value: signals, expected: 'an array of SignalSource' });
    else
      signals.forEach((source: unknown, index) => {
        if (typeof (source as { read?: unknown } | null)?.read !== 'function')
          issues.push({ field: `signals[${index}]`, value: source, expected: 'an object with read()' });
      });
  }
  if (systemSampler === undefined || typeof systemSampler === 'boolean') return;
  if (typeof systemSampler !== 'object' || (systemSampler as unknown) === null) {
    issues.push({
      field: 'systemSampler',
      value: systemSampler,
      expected: 'a boolean or SystemSampler options',
    });
    return;
  }
  const sampler = systemSampler as Record<string, unknown>;
  for (const key of SAMPLER_INTERVALS)
    if (sampler[key] !== undefined)
      checkInteger(issues, `systemSampler.${key}`, sampler[key], 1, { max: MAX_TIMER_MS });
  if (sampler['gpu'] !== undefined && typeof sampler['gpu'] !== 'boolean')
    issues.push({ field: 'systemSampler.gpu', value: sampler['gpu'], expected: 'a boolean' });
  if (sampler['onWarning'] !== undefined && typeof sampler['onWarning'] !== 'function')
    issues.push({ field: 'systemSampler.onWarning', value: sampler['onWarning'], expected: 'a function' });
  if (sampler['env'] !== undefined && (typeof sampler['env'] !== 'object' || sampler['env'] === null))
    issues.push({ field: 'systemSampler.env', value: sampler['env'], expected: 'an object' });
}

/** Throws one InvalidConfigError listing every issue, if there are any. @internal */
export function throwIfIssues(issues: readonly ConfigIssue[]): void {
  if (issues.length > 0) throw invalidConfig(issues);
}

function checkInteger(
  issues: ConfigIssue[],
  field: string,
  value: unknown,
  min: number,
  { infinity = false, max = Number.MAX_SAFE_INTEGER }: { infinity?: boolean; max?: number } = {},
): void {
  const ok =
    typeof value === 'number' &&
    ((Number.isInteger(value) && value >= min && value <= max) || (infinity && value === Infinity));
  if (ok) return;
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
  issues.push({ field, value, expected: `an integer ${range}${infinity ? ' (or Infinity)' : ''}` });
}
