import { assertInteger, assertOptionalSignal, describe } from '../internal/validate.js';
import { MAX_PRIORITY, type RetentionOptions } from './client-jobs.js';
import { Issues, resolveQueue, type QueueOptions, type ResolvedQueue } from './options.js';

/** Options of {@link QueueClient}. */
export interface QueueClientOptions extends QueueOptions {
  /** How long finished jobs stay in Redis (see README: a vanished client's results expire). */
  retention?: RetentionOptions | undefined;
  /** Approximate length BullMQ trims the queue's event stream to (events carry results). @default 10000 */
  eventsMaxLen?: number | undefined;
  /** Node time a `map` job aims for, in ms; jobs of fast items carry more items. @default 50 */
  jobTargetMs?: number | undefined;
  /** The most inputs per `map` job. @default 4096 */
  maxItemsPerJob?: number | undefined;
  /** Jobs one `map` keeps queued or running at once: its window. @default 64 */
  maxJobsInFlight?: number | undefined;
  /** How often jobs with no news are looked up in Redis, and cancels repeated, in ms. @default 5000 */
  sweepIntervalMs?: number | undefined;
  /** How long `close()` lets jobs in flight finish before cancelling them. @default 10000 */
  closeTimeoutMs?: number | undefined;
}

/** Options of {@link QueueClient.run}. */
export interface QueueRunOptions {
  /** Aborting it cancels the job: removed if waiting, cancelled on its node if running. */
  signal?: AbortSignal | undefined;
  /** Higher first; an integer within ±1,048,575. @default 0 */
  priority?: number | undefined;
  /** A deadline from submission (queue time included); then ERR_TASK_TIMEOUT. */
  timeoutMs?: number | undefined;
  /** Carried to the node with the job (see README). */
  tenant?: string | undefined;
}

/** A client's settings after defaults. @internal */
export type ClientSettings = Required<Omit<QueueClientOptions, keyof QueueOptions | 'retention'>> & {
  readonly retention: Required<RetentionOptions>;
};

/**
 * Applies a QueueClient's defaults and checks every option.
 * @throws InvalidConfigError naming every bad option and its value.
 * @internal
 */
export function resolveClient(options: QueueClientOptions): {
  queue: ResolvedQueue;
  settings: ClientSettings;
} {
  const issues = new Issues();
  const resolved = resolveQueue(options, issues);
  const {
    eventsMaxLen = 10_000,
    jobTargetMs = 50,
    maxItemsPerJob = 4096,
    maxJobsInFlight = 64,
    sweepIntervalMs = 5000,
    closeTimeoutMs = 10_000,
    retention = {},
  } = options;
  issues.integer('eventsMaxLen', eventsMaxLen, 1);
  issues.integer('jobTargetMs', jobTargetMs, 1);
  issues.integer('maxItemsPerJob', maxItemsPerJob, 1);
  issues.check('maxItemsPerJob', maxItemsPerJob, maxItemsPerJob <= 100_000, 'at most 100000');
  issues.integer('maxJobsInFlight', maxJobsInFlight, 1);
  issues.integer('sweepIntervalMs', sweepIntervalMs, 1);
  issues.integer('closeTimeoutMs', closeTimeoutMs, 0);
  issues.throwIfAny('QueueClient');
  const settings: ClientSettings = {
    eventsMaxLen,
    jobTargetMs,
    maxItemsPerJob,
    maxJobsInFlight,
    sweepIntervalMs,
    closeTimeoutMs,
    retention: {
      completed: retention.completed ?? { age: 3600, count: 1000 },
      failed: retention.failed ?? { age: 86_400, count: 5000 },
    },
  };
  return { queue: resolved as ResolvedQueue, settings };
}

/** @throws TypeError for a task name that is not a non-empty string. @internal */
export function checkTask(task: unknown): void {
  if (typeof task !== 'string' || task.length === 0) {
    throw new TypeError(`task must be a non-empty string, got ${describe(task)}`);
  }
}

/** @throws TypeError or RangeError for a bad run option. @internal */
export function checkRun(options: QueueRunOptions): void {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  assertOptionalSignal('signal', options.signal);
  const { priority, timeoutMs, tenant } = options;
  if (priority !== undefined && !(Number.isInteger(priority) && Math.abs(priority) <= MAX_PRIORITY)) {
    throw new RangeError(
      `priority must be an integer from -${MAX_PRIORITY} to ${MAX_PRIORITY}, got ${describe(priority)}`,
    );
  }
  if (timeoutMs !== undefined) assertInteger('timeoutMs', timeoutMs, 1);
  if (tenant !== undefined && typeof tenant !== 'string') {
    throw new TypeError(`tenant must be a string, got ${describe(tenant)}`);
  }
}
