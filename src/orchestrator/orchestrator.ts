import { EventEmitter } from 'node:events';
import type { Transferable } from 'node:worker_threads';
import { AbortedError, ClosedError } from '../errors.js';
import { TaskGroup } from '../group/task-group.js';
import { assertFinite, assertInteger, assertOptionalSignal, describe } from '../internal/validate.js';
import type { Output, Task } from '../worker/define-task.js';
import type { Registry } from 'prom-client';
import { OrchestratorMetrics, type GaugeSnapshot, type MetricsOptions } from '../telemetry/metrics.js';
import { Engine } from './engine.js';
import { resolveOptions, type ExecutionOptions } from './options.js';
import type { AdaptiveOptions } from '../control/config.js';
import { Adaptation, type AdaptEvent, type SignalsOptions } from './adaptation.js';
import { mapTasks, type MapHost, type MapOptions, type MapRecord } from './map.js';
import { LIST_TASKS } from '../pool/protocol.js';
import type { ItemResult } from './batch.js';
import { Coalescer, type CoalesceHost } from './coalescer.js';
import { errorType } from './error-type.js';
import type { TaskRun, RunOutcome } from './task-run.js';

/** Telemetry options of an {@link Orchestrator}. */
export interface TelemetryOptions {
  /** The prom-client Registry to write to. @default a fresh Registry of the orchestrator's own */
  registry?: Registry | undefined;
  /** Prefix of every metric name. @default 'orchestrator_' */
  metricsPrefix?: string | undefined;
  /** The `orchestrator` label; needed to put two orchestrators on one registry. */
  name?: string | undefined;
  /** Also collect Node's default process metrics on the registry. @default false */
  defaultMetrics?: boolean | undefined;
  /** Keep metrics at all. @default true */
  telemetry?: boolean | undefined;
}

/** Options of {@link Orchestrator}. */
export type OrchestratorOptions = ExecutionOptions & TelemetryOptions & AdaptiveOptions & SignalsOptions;

/** Options of {@link Orchestrator.run}. */
export interface RunOptions {
  /** Aborting it cancels the run: a queued run leaves the queue, a running one is told to stop. */
  signal?: AbortSignal | undefined;
  /** Higher numbers are admitted first. @default 0 */
  priority?: number | undefined;
  /** A deadline counted from submission (queue time included); the run then rejects with ERR_TASK_TIMEOUT. */
  timeoutMs?: number | undefined;
  /** ArrayBuffers (or typed arrays) in the input to move to the worker instead of copying. */
  transferList?: readonly (Transferable | ArrayBufferView)[] | undefined;
  /** Marks a run that needs the GPU; its queue time counts as GPU wait. @default false */
  gpu?: boolean | undefined;
}

/** What a function started with {@link Orchestrator.go} receives. */
export interface GoContext<M extends TaskMap = TaskMap> {
  /** The name given to `go`. */
  readonly name: string;
  /** Aborted when the orchestrator's root group fails or the orchestrator closes. */
  readonly signal: AbortSignal;
  /** `orchestrator.run`, cancelled with ERR_ABORTED if the root group fails. */
  run<K extends TaskName<M>>(
    task: K,
    input: TaskInput<M, K>,
    options?: RunOptions,
  ): Promise<TaskOutput<M, K>>;
}

/** The shape of a worker module's tasks, for typing `run`: e.g. `Orchestrator<typeof import('./worker.js')>`. */
export type TaskMap = Record<string, unknown>;

/** The export names of a worker module that are tasks. */
export type TaskName<M extends TaskMap> = string extends keyof M
  ? string
  : {
      [K in keyof M]: M[K] extends Task<never, unknown> ? K : never;
    }[keyof M] &
      string;

/** The input type of task `K`. */
export type TaskInput<M extends TaskMap, K extends keyof M> =
  M[K] extends Task<infer I, unknown> ? I : unknown;

/** The resolved output type of task `K`. */
export type TaskOutput<M extends TaskMap, K extends keyof M> =
  M[K] extends Task<never, infer O> ? Output<Awaited<O>> : unknown;

/**
 * Runs the named tasks of one worker module in a Piscina pool behind an adaptive limiter.
 *
 * Every run passes the limiter before it reaches Piscina, so at most `limit` tasks run at once;
 * one more per running task may be staged in Piscina's queue so a thread never idles between
 * tasks. The pool starts threads on demand up to the current `limit` (at most `maxLimit`), keeps
 * at least `minLimit`, and retires threads idle for `idleTimeoutMs`, so after the limit shrinks
 * the surplus threads go.
 *
 * Guarantees: every run settles exactly once; every slot is returned exactly once; a run that
 * is cancelled settles only once its task has stopped (it stopped itself, or its thread was
 * terminated `cancelGraceMs` after the cancel); after `close()` resolves, no thread, timer or port
 * is left, so the process can exit.
 *
 * @example
 * ```ts
 * const orchestrator = new Orchestrator({ worker: new URL('./tasks.js', import.meta.url), maxLimit: 8 });
 * const ids = await orchestrator.run('tokenize', { text: 'hello world' }, { timeoutMs: 5000 });
 * await orchestrator.close();
 * ```
 */
export class Orchestrator<M extends TaskMap = TaskMap> extends EventEmitter {
  readonly #engine: Engine;
  readonly #closeTimeoutMs: number;
  readonly #minLimit: number;
  readonly #metrics: OrchestratorMetrics | undefined;
  readonly #adaptation: Adaptation;
  /** Set with the `batch` option: run() calls travel in batches. */
  readonly #coalescer: Coalescer | undefined;
  /** Aborts the root group when close() gives up waiting. */
  readonly #rootController = new AbortController();
  readonly #root = new TaskGroup({ signal: this.#rootController.signal });
  #accepting = true;
  #closing: Promise<void> | undefined;

  /**
   * @param options - see {@link OrchestratorOptions}.
   * @throws InvalidConfigError naming every bad option and its value.
   * @throws WorkerNotFoundError if the worker module does not exist.
   */
  constructor(options: OrchestratorOptions) {
    super();
    if (typeof options !== 'object' || (options as unknown) === null) {
      throw new TypeError(`options must be an object, got ${describe(options)}`);
    }
    const { execution: settings, adaptive } = resolveOptions(options);
    this.#closeTimeoutMs = settings.closeTimeoutMs;
    this.#minLimit = settings.minLimit;
    this.#engine = new Engine(settings);
    this.#coalescer = settings.batch === undefined ? undefined : new Coalescer(this.#mapHost, settings.batch);
    if (options.telemetry !== false) {
      const metricsOptions: MetricsOptions = {
        registry: options.registry,
        prefix: options.metricsPrefix,
        name: options.name,
        defaultMetrics: options.defaultMetrics,
      };
      try {
        this.#metrics = new OrchestratorMetrics(metricsOptions, () => this.#gauges());
      } catch (error) {
        void this.#engine.destroy();
        throw error;
      }
    }
    this.#adaptation = new Adaptation(this.#engine, adaptive, options, {
      onAdapt: (event) => {
        this.#metrics?.recordLimitChange(event.to > event.from ? 'up' : 'down', event.reason);
        this.emit('adapt', event);
      },
    });
    const metrics = this.#metrics;
    const adaptation = this.#adaptation;
    this.#engine.observe((run, outcome, error) => {
      // A batch is counted item by item, as each item settles.
      if (run.spec.batch !== undefined) return;
      adaptation.record(run, outcome);
      if (metrics !== undefined) record(metrics, run, outcome, error);
    });
    adaptation.start();
  }

  /**
   * Runs one adaptation step now (sample, decide, resize), as the interval timer does.
   * @returns the decision's event, or undefined if the limit did not change.
   */
  adapt(): Promise<AdaptEvent | undefined> {
    return this.#adaptation.step();
  }

  /** The prom-client Registry the metrics are on (undefined with `telemetry: false`). */
  get registry(): Registry | undefined {
    return this.#metrics?.registry;
  }

  #gauges(): GaugeSnapshot {
    const signals = this.#adaptation.currentSignals();
    return {
      queueDepth: this.#engine.queuedItems,
      concurrencyLimit: this.limit,
      minLimit: this.#minLimit,
      tasksInFlight: this.inFlight,
      poolThreads: this.threads,
      gpuWaitSeconds: this.#engine.gpuWaitSeconds(),
      cpuLoadRatio: signals.cpuLoad,
      gpuUtilizationRatio: signals.gpuUtilization,
      errorRateRatio: signals.errorRate,
    };
  }

  /** The concurrency limit now in force. */
  get limit(): number {
    return this.#engine.limit;
  }

  /** Runs admitted to the pool: up to `limit` running plus up to `limit` staged behind them. */
  get inFlight(): number {
    return this.#engine.inFlight;
  }

  /** Runs waiting for a slot. */
  get queued(): number {
    return this.#engine.queued;
  }

  /** Threads the pool has now. */
  get threads(): number {
    return this.#engine.pool.threads.length;
  }

  /** False once `close()` has been called. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /**
   * Sets the concurrency limit by hand, clamped to [minLimit, maxLimit].
   * @returns the limit now in force.
   * @throws RangeError if `limit` is not an integer.
   */
  resize(limit: number): number {
    if (typeof limit !== 'number' || !Number.isInteger(limit)) {
      throw new RangeError(`limit must be an integer, got ${describe(limit)}`);
    }
    return this.#engine.resize(limit);
  }

  /**
   * Runs one task in the pool.
   * @param task - the export name of the task in the worker module.
   * @param input - its input; structured-cloned (or moved, with `transferList`).
   * @param options - signal, priority, timeoutMs, transferList, gpu.
   * @returns the task's output. Rejects with ERR_TASK_FAILED (the task threw), ERR_UNKNOWN_TASK,
   *   ERR_WORKER_CRASHED, ERR_TASK_TIMEOUT, ERR_QUEUE_FULL, ERR_CLOSED, ERR_DATA_CLONE, ERR_ABORTED
   *   (close() or a failed group cancelled it), or the signal's reason.
   */
  run<K extends TaskName<M>>(
    task: K,
    input: TaskInput<M, K>,
    options?: RunOptions,
  ): Promise<TaskOutput<M, K>>;
  run(task: string, input: unknown, options: RunOptions = {}): Promise<unknown> {
    return this.submit(task, input, options, undefined);
  }

  /** @internal Submits with an extra scope signal (the group a go() function runs in). */
  submit(
    task: string,
    input: unknown,
    options: RunOptions,
    scopeSignal: AbortSignal | undefined,
  ): Promise<unknown> {
    if (!this.#accepting)
      return Promise.reject(new ClosedError(`The orchestrator is closed; task "${task}" was refused`));
    try {
      checkRun(task, options);
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal, priority = 0, timeoutMs, transferList, gpu = false } = options;
    if (this.#coalescer !== undefined && task !== LIST_TASKS) {
      const transfers = transferList?.map(toTransferable);
      const run = { task, input, transferList: transfers, signal, scopeSignal, timeoutMs, priority, gpu };
      return this.#coalescer.submit(run);
    }
    return this.#engine.submit(
      {
        task,
        input,
        signal,
        scopeSignal,
        timeoutMs,
        gpu,
        items: 1,
        batch: undefined,
        transferList: transferList?.map(toTransferable),
      },
      priority,
    );
  }

  /**
   * The worker module's task names (its `defineTask` exports), as a pool thread sees them.
   * @returns the names, sorted as the module exports them.
   */
  async taskNames(): Promise<string[]> {
    return (await this.submit(LIST_TASKS, undefined, {}, undefined)) as string[];
  }

  /**
   * Whether the worker module declares `task` with `defineTask(fn, { idempotent: true })`, as a
   * pool thread sees it (a thread is started if none runs). False for a task it does not export.
   */
  async isIdempotent(task: string): Promise<boolean> {
    await this.taskNames();
    return this.#engine.isIdempotent(task);
  }

  /**
   * Runs a task over many inputs, in batches, and yields one record per input as results come.
   *
   * Inputs are pulled lazily (an iterable or async iterable of any length; memory stays flat);
   * items travel to the workers in batches sized to about a millisecond of work (at most
   * `batchSize`), with two batches per running slot in flight so no thread idles between
   * batches. A failed item yields `{ index, ok: false, error }` and the others go on, unless
   * `failFast`. Breaking out of the loop or aborting `signal` cancels what is in flight.
   * @param task - the export name of the task.
   * @param inputs - the inputs, pulled as results are consumed.
   * @param options - ordered, batchSize, signal, priority, failFast.
   * @returns an async iterable of {@link MapRecord}s.
   * @example
   * ```ts
   * for await (const record of orchestrator.map('tokenize', readLines(file), { ordered: true })) {
   *   if (record.ok) write(record.value); else console.error(record.index, record.error);
   * }
   * ```
   */
  map<K extends TaskName<M>>(
    task: K,
    inputs: Iterable<TaskInput<M, K>> | AsyncIterable<TaskInput<M, K>>,
    options?: MapOptions,
  ): AsyncGenerator<MapRecord<TaskOutput<M, K>>, void, undefined>;
  map(
    task: string,
    inputs: Iterable<unknown> | AsyncIterable<unknown>,
    options: MapOptions = {},
  ): AsyncGenerator<MapRecord, void, undefined> {
    if (!this.#accepting)
      return rejectingGenerator(new ClosedError(`The orchestrator is closed; map("${task}") was refused`));
    return mapTasks(this.#mapHost, task, inputs, options);
  }

  readonly #mapHost: MapHost & CoalesceHost = this.#createMapHost();

  /** The batch plumbing map and coalesced runs share: the engine's, plus per-item telemetry. */
  #createMapHost(): MapHost & CoalesceHost {
    const engine = (): Engine => this.#engine;
    return {
      get limit(): number {
        return engine().limit;
      },
      get cancelGraceMs(): number {
        return engine().cancelGraceMs;
      },
      get hasFreeSlot(): boolean {
        const { limiter } = engine();
        return limiter.pending === 0 && limiter.inFlight < limiter.limit;
      },
      submitRun: (spec, priority) => engine().submitRun(spec, priority),
      allocateIds: (count) => engine().allocateIds(count),
      openBatch: (id, sink) => engine().openBatch(id, sink),
      closeBatch: (id) => engine().closeBatch(id),
      collectChunks: () => engine().collectChunks(),
      broadcastAbort: (id) => engine().broadcastAbort(id),
      forgetAbort: (id) => engine().forgetAbort(id),
      isIdempotent: (task) => engine().isIdempotent(task),
      adjustQueuedItems: (delta) => engine().adjustQueuedItems(delta),
      recordItem: (task, result, workerMs, waitMs) => this.#recordItem(task, result, workerMs, waitMs),
      recordBatch: (size) => this.#metrics?.recordBatch(size),
    };
  }

  #recordItem(
    task: string,
    result: ItemResult,
    workerMs: number | undefined,
    waitMs: number | undefined,
  ): void {
    const outcome = result.ok ? 'success' : result.outcome;
    this.#adaptation.recordOutcome(outcome, workerMs ?? 0);
    const failed = outcome !== 'success' && outcome !== 'aborted';
    this.#metrics?.record(
      task,
      outcome,
      workerMs === undefined ? undefined : workerMs / 1000,
      waitMs === undefined ? undefined : waitMs / 1000,
      failed && !result.ok ? errorType(result.error) : undefined,
    );
  }

  /**
   * Runs `fn(ctx)` on the main thread as a task of the orchestrator's root {@link TaskGroup}, in
   * the manner of errgroup's `Go`. `fn` holds no slot itself — only its `ctx.run` calls pass the
   * limiter — so nothing deadlocks at limit 1. If `fn` fails, the root group aborts: every run
   * started through any `ctx.run` is cancelled with ERR_ABORTED, and {@link wait} rejects with the
   * first error.
   * @param name - a label for the work (shown in errors).
   * @param fn - the work; sync or async.
   * @throws ClosedError once `close()` has been called; TypeError for a bad argument.
   */
  go(name: string, fn: (ctx: GoContext<M>) => unknown): void {
    if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${describe(name)}`);
    if (typeof fn !== 'function') throw new TypeError(`fn must be a function, got ${describe(fn)}`);
    if (!this.#accepting) throw new ClosedError(`The orchestrator is closed; go("${name}") was refused`);
    this.#root.go((signal) => {
      const ctx: GoContext<M> = {
        name,
        signal,
        run: (task, input, options = {}) => this.submit(task, input, options, signal) as never,
      };
      return fn(ctx);
    });
  }

  /**
   * Waits until every function started with {@link go} has settled (and so every run they
   * awaited). Rejects with the first error, like errgroup's `Wait`.
   */
  wait(): Promise<void> {
    return this.#root.wait();
  }

  /**
   * Stops accepting work, lets accepted work finish within `closeTimeoutMs`, then cancels what is
   * left (ERR_ABORTED), terminates the pool and releases every handle. Idempotent: every call
   * returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#accepting = false;
    this.#coalescer?.flushAll();
    await this.#adaptation.close();
    const engine = this.#engine;
    const deadline = Date.now() + this.#closeTimeoutMs;
    const groupDone = this.#root.wait().then(
      () => true,
      () => true,
    );
    const finished = await raceTimeout(groupDone, this.#closeTimeoutMs);
    const drained = await engine.drain(Math.max(0, deadline - Date.now()));
    if (!finished || !drained) {
      const reason = new AbortedError('The orchestrator closed before the task finished');
      this.#rootController.abort(reason);
      engine.cancelAll(reason);
      await engine.drain(Number.POSITIVE_INFINITY);
      await groupDone;
    }
    await engine.destroy();
    this.#metrics?.dispose();
  }
}

function record(metrics: OrchestratorMetrics, run: TaskRun, outcome: RunOutcome, error: unknown): void {
  const ran = outcome === 'success' || outcome === 'error';
  const waited = run.startedAt > 0 ? (run.startedAt - run.submittedAt) / 1000 : undefined;
  const failed = outcome !== 'success' && outcome !== 'aborted';
  metrics.record(
    run.task,
    outcome,
    ran ? run.workerMs / 1000 : undefined,
    waited,
    failed ? errorType(error) : undefined,
  );
}

/** An iteration that rejects at once: what map() returns once the orchestrator is closed. */
async function* rejectingGenerator(error: Error): AsyncGenerator<never, void, undefined> {
  await Promise.reject(error);
  yield* [];
}

/** Resolves with `promise`'s value, or with `false` after `ms`; leaves no timer behind. */
async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | false> {
  if (!Number.isFinite(ms)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function checkRun(task: unknown, options: RunOptions): void {
  if (typeof task !== 'string' || task.length === 0) {
    throw new TypeError(`task must be a non-empty string, got ${describe(task)}`);
  }
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  assertOptionalSignal('signal', options.signal);
  if (options.priority !== undefined) assertFinite('priority', options.priority);
  if (options.timeoutMs !== undefined) assertInteger('timeoutMs', options.timeoutMs, 1);
  if (options.transferList !== undefined && !Array.isArray(options.transferList)) {
    throw new TypeError(`transferList must be an array, got ${describe(options.transferList)}`);
  }
}

function toTransferable(item: Transferable | ArrayBufferView): Transferable {
  return ArrayBuffer.isView(item) ? (item.buffer as ArrayBuffer) : item;
}
