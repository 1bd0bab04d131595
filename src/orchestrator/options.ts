import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidConfigError, WorkerNotFoundError, type ConfigIssue } from '../errors.js';
import { describe } from '../internal/validate.js';
import { resolveAdaptive, type AdaptiveConfig, type AdaptiveOptions } from '../control/config.js';
import type { EngineSettings, ResourceLimitsOption } from './engine.js';
import type { CoalesceOptions } from './coalescer.js';

/** The execution options of an {@link Orchestrator} (adaptive-control options are separate). */
export interface ExecutionOptions {
  /** The worker module whose `defineTask` exports are the tasks: a path (relative to the cwd) or a file URL. */
  worker: string | URL;
  /** The starting concurrency limit. @default 4 */
  baseLimit?: number;
  /** The lowest limit. @default 1 */
  minLimit?: number;
  /** The highest limit, and the most threads the pool may start. @default 16 */
  maxLimit?: number;
  /** The most runs that may wait for a slot; beyond it, `run` rejects with ERR_QUEUE_FULL. @default Infinity */
  maxQueue?: number;
  /** How long a cancelled task may keep running before its thread is terminated. @default 1000 */
  cancelGraceMs?: number;
  /** How long `close()` lets accepted work finish before cancelling it. @default 10000 */
  closeTimeoutMs?: number;
  /** How long a thread may stay idle before it retires (threads above minLimit). @default 5000 */
  idleTimeoutMs?: number;
  /** Memory and stack limits for each worker thread; a task that exceeds them fails with ERR_WORKER_CRASHED. */
  resourceLimits?: ResourceLimitsOption;
  /**
   * Coalesce `run()` calls of the same task into batches of up to `maxSize`, waiting at most
   * `maxDelayMs` for a batch to fill while the pool is busy. For many small runs; each run keeps
   * its own promise, signal, deadline, error and metrics. @default off
   */
  batch?: CoalesceOptions | undefined;
}

/** Execution settings after defaults and validation. @internal */
export interface ResolvedExecution extends EngineSettings {
  readonly closeTimeoutMs: number;
  readonly batch: CoalesceOptions | undefined;
}

const DEFAULTS = {
  baseLimit: 4,
  minLimit: 1,
  maxLimit: 16,
  maxQueue: Number.POSITIVE_INFINITY,
  cancelGraceMs: 1000,
  closeTimeoutMs: 10_000,
  idleTimeoutMs: 5000,
} as const;

/**
 * Applies defaults and checks every option (execution and adaptive), reporting every bad field
 * in one error.
 * @throws InvalidConfigError naming each bad field and its value.
 * @throws WorkerNotFoundError when the worker module does not exist.
 * @internal
 */
export function resolveOptions(options: ExecutionOptions & AdaptiveOptions): {
  execution: ResolvedExecution;
  adaptive: AdaptiveConfig;
} {
  const issues: ConfigIssue[] = [];
  const execution = resolveExecution(options, issues);
  const adaptive = resolveAdaptive(
    options,
    { minLimit: execution.minLimit, maxLimit: execution.maxLimit },
    issues,
  );
  throwIfIssues(issues);
  return { execution, adaptive };
}

function resolveExecution(options: ExecutionOptions, issues: ConfigIssue[]): ResolvedExecution {
  const merged = { ...DEFAULTS, ...withoutUndefined(options) };
  const counts = ['baseLimit', 'minLimit', 'maxLimit'] as const;
  for (const field of counts) checkInteger(issues, field, merged[field], 1);
  checkInteger(issues, 'maxQueue', merged.maxQueue, 0, true);
  for (const field of ['cancelGraceMs', 'closeTimeoutMs', 'idleTimeoutMs'] as const) {
    checkInteger(issues, field, merged[field], 0, true);
  }
  const { baseLimit, minLimit, maxLimit } = merged;
  const bad = (field: string): boolean => issues.some((issue) => issue.field === field);
  const boundsValid = !bad('minLimit') && !bad('maxLimit');
  if (boundsValid && minLimit > maxLimit) {
    issues.push({ field: 'minLimit', value: minLimit, expected: `<= maxLimit (${maxLimit})` });
  } else if (boundsValid && !bad('baseLimit') && (baseLimit < minLimit || baseLimit > maxLimit)) {
    issues.push({
      field: 'baseLimit',
      value: baseLimit,
      expected: `within [minLimit, maxLimit] = [${minLimit}, ${maxLimit}]`,
    });
  }
  const batch = resolveBatch(options.batch, issues);
  const moduleUrl = resolveWorker(issues, options.worker);
  return { ...merged, moduleUrl: moduleUrl as string, resourceLimits: options.resourceLimits, batch };
}

function resolveBatch(batch: unknown, issues: ConfigIssue[]): CoalesceOptions | undefined {
  if (batch === undefined) return undefined;
  if (typeof batch !== 'object' || batch === null) {
    issues.push({ field: 'batch', value: batch, expected: 'an object { maxSize, maxDelayMs }' });
    return undefined;
  }
  const { maxSize, maxDelayMs } = batch as Record<string, unknown>;
  checkInteger(issues, 'batch.maxSize', maxSize, 1);
  checkInteger(issues, 'batch.maxDelayMs', maxDelayMs, 0);
  return { maxSize: maxSize as number, maxDelayMs: maxDelayMs as number };
}

/** Throws one InvalidConfigError listing every issue, if there are any. @internal */
export function throwIfIssues(issues: readonly ConfigIssue[]): void {
  if (issues.length === 0) return;
  const lines = issues.map((i) => `${i.field} must be ${i.expected}, got ${describe(i.value)}`);
  const error = new InvalidConfigError(`Invalid orchestrator options: ${lines.join('; ')}`);
  error.issues = issues;
  throw error;
}

function checkInteger(
  issues: ConfigIssue[],
  field: string,
  value: unknown,
  min: number,
  allowInfinity = false,
): void {
  const ok =
    typeof value === 'number' &&
    value >= min &&
    (Number.isInteger(value) || (allowInfinity && value === Infinity));
  if (!ok)
    issues.push({ field, value, expected: `an integer >= ${min}${allowInfinity ? ' (or Infinity)' : ''}` });
}

function resolveWorker(issues: ConfigIssue[], worker: unknown): string | undefined {
  let url: URL;
  if (worker instanceof URL) url = worker;
  else if (typeof worker === 'string' && worker.startsWith('file:')) url = new URL(worker);
  else if (typeof worker === 'string' && worker.length > 0) url = pathToFileURL(resolve(worker));
  else {
    issues.push({ field: 'worker', value: worker, expected: 'a path or file URL of a worker module' });
    return undefined;
  }
  if (url.protocol !== 'file:') {
    issues.push({ field: 'worker', value: url.href, expected: 'a file: URL' });
    return undefined;
  }
  const path = fileURLToPath(url);
  if (!existsSync(path)) throw new WorkerNotFoundError(`The worker module ${path} does not exist`);
  return url.href;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
