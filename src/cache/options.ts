/**
 * The cache's options: what `defineTask(fn, { cache })` declares in the worker, what the
 * orchestrator's `cache` option adds, their defaults and their checks.
 * @module
 */
import type { ConfigIssue } from '../errors.js';

/** Cache settings a worker module may declare for a task (`defineTask(fn, { cache })`): plain data. */
export interface WorkerCacheOptions {
  /** The most results kept for the task. @default 10000 */
  maxEntries?: number | undefined;
  /** The most bytes of results kept (an estimate of their size in memory). @default 67108864 (64 MiB) */
  maxBytes?: number | undefined;
  /** How long a result stays fresh, in ms (Infinity: until evicted). @default Infinity */
  ttlMs?: number | undefined;
  /** Also keep failures (a task's own throw, ERR_TASK_FAILED); never cancellations, timeouts or crashes. @default false */
  cacheFailures?: boolean | undefined;
  /**
   * How results are kept safe from callers: `'freeze'` deep-freezes plain objects and arrays once
   * (a hit costs nothing; callers get read-only values); `'clone'` gives every caller its own
   * structured clone. Values freezing cannot protect (typed arrays, ArrayBuffers, Maps, Sets,
   * Dates, class instances) are cloned in either mode. @default 'freeze'
   */
  immutability?: 'freeze' | 'clone' | undefined;
}

/** Cache settings of one task on the main thread: a worker's, plus a key function. */
export interface TaskCacheOptions<I = unknown> extends WorkerCacheOptions {
  /**
   * Makes the key from the input instead of hashing it (a user id, a content hash the input
   * already carries): two inputs with one key share one result. Returning undefined falls back
   * to the default key. Called on the main thread for every run of the task.
   */
  cacheKey?: ((input: I) => string | number | undefined) | undefined;
}

/**
 * The orchestrator's `cache` option: which tasks to cache, with defaults for every cached task.
 * A task is cached when it is listed here or its worker module declares `defineTask(fn, { cache })`.
 */
export interface CacheOptions extends TaskCacheOptions {
  /**
   * Tasks to cache: names, or settings by name (`true`: the defaults; `false`: not cached, even
   * if the worker declares it). @default []
   */
  tasks?: readonly string[] | Readonly<Record<string, TaskCacheOptions | boolean>> | undefined;
}

/** One task's settings after defaults. */
export interface CacheSettings {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly ttlMs: number;
  readonly cacheFailures: boolean;
  readonly immutability: 'freeze' | 'clone';
  readonly cacheKey: ((input: unknown) => string | number | undefined) | undefined;
}

/** The built-in defaults. */
export const CACHE_DEFAULTS: Omit<CacheSettings, 'cacheKey'> = {
  maxEntries: 10_000,
  maxBytes: 64 * 2 ** 20,
  ttlMs: Number.POSITIVE_INFINITY,
  cacheFailures: false,
  immutability: 'freeze',
};

/** The orchestrator's cache option, checked: per-task choices and shared defaults. @internal */
export interface ResolvedCache {
  readonly defaults: TaskCacheOptions;
  /** Per task: settings, or false to refuse a worker's declaration. */
  readonly tasks: ReadonlyMap<string, TaskCacheOptions | false>;
}

/**
 * A task's settings: the orchestrator's per-task settings win over the worker's declaration,
 * which wins over the orchestrator's shared defaults, which win over {@link CACHE_DEFAULTS}.
 * @returns undefined when the task is not cached.
 * @internal
 */
export function settingsFor(
  resolved: ResolvedCache | undefined,
  task: string,
  worker: WorkerCacheOptions | undefined,
): CacheSettings | undefined {
  const own = resolved?.tasks.get(task);
  if (own === false || (own === undefined && worker === undefined)) return undefined;
  const merged = { ...CACHE_DEFAULTS, ...defined(resolved?.defaults), ...defined(worker), ...defined(own) };
  return { ...merged, cacheKey: merged.cacheKey };
}

function defined(options: TaskCacheOptions | undefined): Partial<TaskCacheOptions> {
  if (options === undefined) return {};
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

/** Problems with one task's settings, each naming its field under `prefix`. @internal */
export function cacheSettingsIssues(options: unknown, prefix: string, allowKey = true): ConfigIssue[] {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    return [{ field: prefix, value: options, expected: 'an object of cache settings' }];
  const issues: ConfigIssue[] = [];
  const o = options as Record<string, unknown>;
  const count = (field: string, value: unknown): void => {
    if (value !== undefined && !(typeof value === 'number' && Number.isSafeInteger(value) && value >= 1))
      issues.push({ field: `${prefix}.${field}`, value, expected: 'an integer >= 1' });
  };
  count('maxEntries', o['maxEntries']);
  count('maxBytes', o['maxBytes']);
  const ttl = o['ttlMs'];
  if (
    ttl !== undefined &&
    !(ttl === Number.POSITIVE_INFINITY || (Number.isSafeInteger(ttl) && (ttl as number) >= 1))
  )
    issues.push({ field: `${prefix}.ttlMs`, value: ttl, expected: 'an integer >= 1 (ms) or Infinity' });
  if (o['cacheFailures'] !== undefined && typeof o['cacheFailures'] !== 'boolean')
    issues.push({ field: `${prefix}.cacheFailures`, value: o['cacheFailures'], expected: 'a boolean' });
  const mode = o['immutability'];
  if (mode !== undefined && mode !== 'freeze' && mode !== 'clone')
    issues.push({ field: `${prefix}.immutability`, value: mode, expected: "'freeze' or 'clone'" });
  const key = o['cacheKey'];
  if (key !== undefined && (!allowKey || typeof key !== 'function'))
    issues.push({
      field: `${prefix}.cacheKey`,
      value: key,
      expected: allowKey
        ? 'a function'
        : 'nothing here (a function cannot leave the worker; set it on the orchestrator)',
    });
  const known = ['maxEntries', 'maxBytes', 'ttlMs', 'cacheFailures', 'immutability', 'cacheKey', 'tasks'];
  for (const field of Object.keys(o))
    if (!known.includes(field) || (field === 'tasks' && prefix !== 'cache'))
      issues.push({ field: `${prefix}.${field}`, value: o[field], expected: 'no such cache setting' });
  return issues;
}

/** Checks the orchestrator's `cache` option; pushes one issue per bad field. @internal */
export function resolveCache(cache: unknown, issues: ConfigIssue[]): ResolvedCache | undefined {
  if (cache === undefined) return undefined;
  const found = cacheSettingsIssues(cache, 'cache');
  issues.push(...found);
  if (found.some((issue) => issue.field === 'cache')) return undefined;
  const { tasks: list = [], ...defaults } = cache as CacheOptions;
  const tasks = new Map<string, TaskCacheOptions | false>();
  if (Array.isArray(list)) {
    list.forEach((name: unknown, i) => {
      if (typeof name === 'string' && name.length > 0) tasks.set(name, {});
      else issues.push({ field: `cache.tasks[${i}]`, value: name, expected: 'a task name' });
    });
  } else if (typeof list === 'object' && (list as unknown) !== null) {
    for (const [name, value] of Object.entries(list as Record<string, unknown>)) {
      if (typeof value === 'boolean') tasks.set(name, value ? {} : false);
      else {
        const own = cacheSettingsIssues(value, `cache.tasks.${name}`);
        issues.push(...own);
        if (own.length === 0) tasks.set(name, value as TaskCacheOptions);
      }
    }
  } else {
    issues.push({
      field: 'cache.tasks',
      value: list,
      expected: 'an array of task names or an object of settings by task',
    });
  }
  return { defaults, tasks };
}
