import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { cachedRun, type CachedRunHost } from '../cache/cached-run.js';
import { RunCache } from '../cache/run-cache.js';
import { Pipeline, pipelineSettings, type PipelineOptions } from '../pipeline/pipeline.js';
import type { PipelineHost } from '../pipeline/segments.js';
import { stageStatsFor } from '../telemetry/feature-families.js';
import { AbortedError, ClosedError } from '../errors.js';
import { describe } from '../internal/validate.js';
import { LIST_TASKS } from '../pool/protocol.js';
import type { ResourceStats } from '../scheduler/resource.js';
import { OrchestratorMetrics, type GaugeSnapshot } from '../telemetry/metrics.js';
import { RunTracer } from '../tracing/tracer.js';
import { Adaptation, type AdaptEvent, type OrchestratorWarning } from './adaptation.js';
import { Coalescer } from './coalescer.js';
import { Engine } from './engine.js';
import { Lifecycle } from './lifecycle.js';
import { mapTasks, type MapHost, type MapOptions, type MapRecord } from './map.js';
import { resolveOptions, type OrchestratorOptions } from './options.js';
import { RunRecorder } from './recorder.js';
import { RootGroup } from './root-group.js';
import { checkGo, checkRun, inherit, toTransferList } from './run-options.js';
import type {
  GoContext,
  GoOptions,
  RunOptions,
  TaskInput,
  TaskMap,
  TaskName,
  TaskOutput,
} from './task-types.js';

/**
 * Runs the named tasks of one worker module (`worker`), or of several (`workers`, with task names
 * qualified by module: `text.tokenize`), in one worker-thread pool behind an adaptive limiter.
 *
 * Every run passes the limiter before it reaches a thread, so at most `limit` tasks run at
 * once. The pool starts threads on demand up to the current `limit` (at most `maxLimit`), keeps
 * at least `minLimit`, and retires threads idle for `idleTimeoutMs`.
 *
 * Guarantees: every run settles exactly once; every slot is returned exactly once; runs reach
 * threads in priority order, FIFO within a priority; a run that is cancelled settles only once
 * its task has stopped (it stopped itself, or its thread was terminated `cancelGraceMs` after
 * the cancel); once `close()` is called nothing new starts, and after it resolves no thread,
 * timer or port is left, so the process can exit.
 *
 * @example
 * ```ts
 * const orchestrator = new Orchestrator({ worker: new URL('./tasks.js', import.meta.url), maxLimit: 8 });
 * const ids = await orchestrator.run('tokenize', { text: 'hello world' }, { timeoutMs: 5000 });
 * await orchestrator.close();
 * ```
 */
export class Orchestrator<M extends TaskMap = TaskMap> extends EventEmitter {
  readonly #lifecycle = new Lifecycle();
  readonly #engine: Engine;
  readonly #closeTimeoutMs: number;
  readonly #minLimit: number;
  readonly #metrics: OrchestratorMetrics | undefined;
  readonly #adaptation: Adaptation;
  readonly #recorder: RunRecorder;
  /** Set with the `batch` option: run() calls travel in batches. */
  readonly #coalescer: Coalescer | undefined;
  readonly #root: RootGroup;
  /** Set with the `tracing` option: every run and map batch gets a span. */
  readonly #tracer: RunTracer | undefined;
  readonly #host: MapHost & ConstructorParameters<typeof Coalescer>[0];
  readonly #cache: RunCache;
  readonly #cacheHost: CachedRunHost;
  #tasksKnown: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Every option is checked before anything is built: a constructor that throws leaves no
   * thread, process, timer or metric behind.
   * @param options - see {@link OrchestratorOptions}.
   * @throws InvalidConfigError naming every bad option and its value.
   * @throws WorkerNotFoundError if a worker module does not exist.
   */
  constructor(options: OrchestratorOptions<NoInfer<M>>) {
    super();
    if (typeof options !== 'object' || (options as unknown) === null) {
      throw new TypeError(`options must be an object, got ${describe(options)}`);
    }
    const { execution, adaptive, metrics, signals, tracing } = resolveOptions(options);
    this.#closeTimeoutMs = execution.closeTimeoutMs;
    this.#minLimit = execution.minLimit;
    // Metrics first: they are the last thing that can refuse (a name taken on the registry).
    this.#metrics =
      metrics === undefined ? undefined : new OrchestratorMetrics(metrics, () => this.#gauges());
    this.#engine = new Engine(
      { ...execution, eventLoopBetweenTasks: tracing !== undefined },
      this.#lifecycle,
    );
    this.#adaptation = new Adaptation(this.#engine, adaptive, signals, {
      onAdapt: (event) => {
        this.#metrics?.recordLimitChange(event.to > event.from ? 'up' : 'down', event.reason);
        this.emit('adapt', event);
      },
      onResourceAdapt: (event) => this.emit('resourceAdapt', event),
      onWarning: (warning) => this.#warn(warning),
    });
    const metricsSink = this.#metrics;
    if (metricsSink !== undefined) {
      this.#engine.taskMetrics.observe({
        declare: (declared) => {
          for (const message of metricsSink.declareTaskMetrics(declared))
            this.#warn({ code: 'ORCHESTRATOR_METRICS', message });
        },
        record: (delta) => metricsSink.recordTaskMetrics(delta),
      });
    }
    const tenants = this.#engine.admission.scheduler.tenants;
    this.#recorder = new RunRecorder(
      this.#metrics,
      this.#adaptation,
      (task) => this.#engine.isTask(task),
      (tenant) => tenants.labelOf(tenant),
    );
    this.#engine.observeStarts((run) => this.#recorder.recordStart(run));
    this.#host = this.#createHost();
    const coalescer = execution.batch === undefined ? undefined : new Coalescer(this.#host, execution.batch);
    this.#coalescer = coalescer;
    if (coalescer !== undefined) this.#lifecycle.register(coalescer);
    this.#engine.observe((run, outcome, error) => {
      this.#recorder.recordRun(run, outcome, error);
      // Runs that went alone time their task for coalescing too (the probe, and long tasks).
      const ran = outcome === 'success' || outcome === 'error';
      if (coalescer !== undefined && run.spec.batch === undefined && ran) {
        coalescer.learnCost(run.task, run.workerMs);
      }
    });
    this.#root = new RootGroup(this.#lifecycle);
    this.#cache = new RunCache(this.#engine, execution.cache);
    if (this.#metrics !== undefined) this.#metrics.caches = this.#cache.stats;
    this.#cacheHost = {
      cache: this.#cache,
      submit: (task, input, options, scope) => this.#submit(task, input, options, scope),
      whenTasksKnown: () =>
        (this.#tasksKnown ??= this.#listTasks().then(
          () => undefined,
          () => undefined,
        )),
    };
    this.#tracer = tracing === undefined ? undefined : new RunTracer(tracing);
    this.#adaptation.start();
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

  /** The concurrency limit now in force. */
  get limit(): number {
    return this.#engine.limit;
  }

  /** Runs admitted to the pool: running, or staged for a thread that is starting (at most `limit`). */
  get inFlight(): number {
    return this.#engine.inFlight;
  }

  /** Runs waiting for a slot. */
  get queued(): number {
    return this.#engine.queued;
  }

  /**
   * True while `run` would shed a submission with ERR_QUEUE_FULL: `maxQueue` runs wait and no
   * slot is free. A tenant's own `maxQueue` is not considered. Cheap enough to read per request,
   * so a server can refuse work before it reads the request's body.
   */
  get full(): boolean {
    return this.#engine.full;
  }

  /** Threads the pool has now. */
  get threads(): number {
    return this.#engine.threads;
  }

  /** False once `close()` has been called. */
  get accepting(): boolean {
    return this.#lifecycle.accepting;
  }

  /**
   * Sets the concurrency limit by hand, clamped to [minLimit, maxLimit]. Growing it starts
   * threads for waiting work at once.
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
   * One tenant's runs now: `running` on a thread, `waiting` to start. A tenant the orchestrator
   * does not know (unlisted, with no work) has none.
   * @param tenant - its name; omitted, the default tenant (runs submitted without one).
   */
  tenantStats(tenant?: string): { running: number; waiting: number } {
    const found = this.#engine.admission.scheduler.tenants.find(tenant);
    return { running: found?.running ?? 0, waiting: found?.waiting ?? 0 };
  }

  /** A declared resource's units and wait now, or undefined if no such resource is declared. */
  resourceStats(resource: string): ResourceStats | undefined {
    return this.#engine.admission.scheduler.resourceStats(resource);
  }

  /**
   * Sets how many units of a declared resource may be held at once, by hand, clamped to
   * [1, the units declared]. Adaptation's GPU rules set the `gpu` resource's this way too.
   * @returns the units now in force.
   * @throws RangeError if `units` is not an integer or no such resource is declared.
   */
  resizeResource(resource: string, units: number): number {
    if (typeof units !== 'number' || !Number.isInteger(units)) {
      throw new RangeError(`units must be an integer, got ${describe(units)}`);
    }
    if (this.resourceStats(resource) === undefined) {
      throw new RangeError(`resource ${describe(resource)} is not declared in the resources option`);
    }
    return this.#engine.resizeResource(resource, units);
  }

  /**
   * Runs one task in the pool.
   * @param task - the export name of the task in the worker module (`module.export` with `workers`).
   * @param input - its input; structured-cloned (or moved, with `transferList`).
   * @param options - signal, priority, timeoutMs, transferList, gpu, cache, tenant, needs.
   * @returns the task's output (for a cached task, maybe a kept result: frozen, or a clone).
   *   Rejects with ERR_TASK_FAILED (the task threw), ERR_UNKNOWN_TASK,
   *   ERR_WORKER_CRASHED, ERR_TASK_TIMEOUT, ERR_QUEUE_FULL, ERR_CLOSED, ERR_DATA_CLONE (the input
   *   or the result cannot be cloned), ERR_ABORTED (close() or a failed group cancelled it),
   *   ERR_NOT_CACHEABLE (a cached task's input cannot be keyed), the signal's reason, or a
   *   TypeError/RangeError for a bad argument.
   */
  run<K extends TaskName<M>>(
    task: K,
    input: TaskInput<M, K>,
    options?: RunOptions,
  ): Promise<TaskOutput<M, K>>;
  run(task: string, input: unknown, options: RunOptions = {}): Promise<unknown> {
    if (!this.#lifecycle.accepting) return Promise.reject(this.#refusal(`task "${task}"`));
    return this.#runMaybeCached(task, input, options, undefined);
  }

  /**
   * Drops the kept results of `task`, or of every cached task. Runs under way go on for their
   * callers; their results are not kept.
   */
  clearCache(task?: string): void {
    this.#cache.clear(task);
  }

  /** A run through the result cache when its task is cached and the call did not opt out. */
  #runMaybeCached(
    task: string,
    input: unknown,
    options: RunOptions,
    scopeSignal: AbortSignal | undefined,
  ): Promise<unknown> {
    const cache = (options as RunOptions | null)?.cache === false ? undefined : this.#cache.of(task);
    if (cache === undefined) return this.#submit(task, input, options, scopeSignal);
    try {
      checkRun(task, options);
      this.#engine.checkNeeds(options.needs, options.gpu ?? false);
    } catch (error) {
      return Promise.reject(error);
    }
    return cachedRun(this.#cacheHost, cache, task, input, options, scopeSignal);
  }

  /** Submits a run, in the root group's scope when `scopeSignal` is given. */
  #submit(
    task: string,
    input: unknown,
    options: RunOptions,
    scopeSignal: AbortSignal | undefined,
  ): Promise<unknown> {
    let transferList;
    const { signal, priority = 0, timeoutMs, gpu = false, tenant, needs } = options;
    try {
      checkRun(task, options);
      transferList = toTransferList(options.transferList);
      this.#engine.checkNeeds(needs, gpu);
    } catch (error) {
      return Promise.reject(error);
    }
    const deadline = timeoutMs === Number.POSITIVE_INFINITY ? undefined : timeoutMs;
    const trace = this.#tracer?.run(task);
    // One literal, in the same order as every other RunSpec, keeps the engine's property reads monomorphic.
    const spec = {
      task,
      input,
      transferList,
      signal,
      scopeSignal,
      timeoutMs: deadline,
      gpu,
      items: 1,
      batch: undefined,
      tenant,
      needs,
      trace,
    };
    // A run that would travel alone takes the one-task path: same semantics, less machinery.
    if (this.#coalescer?.coalesces(task) === true) return this.#coalescer.submit({ ...spec, priority });
    return this.#engine.submit(spec, priority);
  }

  /**
   * The task names (the `defineTask` exports; qualified, `module.export`, with `workers`), as a
   * pool thread sees them. Once it resolves, the modules' `defineTask(fn, { cache })`
   * declarations are in force too.
   * @returns the names, module by module, each in the order its module exports them.
   */
  async taskNames(): Promise<string[]> {
    if (!this.#lifecycle.accepting) throw this.#refusal('taskNames()');
    return this.#listTasks();
  }

  async #listTasks(): Promise<string[]> {
    const spec = {
      task: LIST_TASKS,
      input: undefined,
      transferList: undefined,
      signal: undefined,
      scopeSignal: undefined,
      timeoutMs: undefined,
      gpu: false,
      items: 1,
      batch: undefined,
      internal: true,
    };
    const names = (await this.#engine.submit(spec, 0)) as string[];
    // The thread posted its hello (with the cache declarations) before it answered, but on
    // another port: once this resolves, what the module declares is known.
    await this.#engine.hello;
    return names;
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
   * items travel to the workers in batches sized to about 8 ms of work (at most `batchSize`,
   * shrinking at the end of an array), with two batches per running slot in flight so no thread
   * idles between batches. A failed item yields `{ index, ok: false, error }` and the others go on, unless
   * `failFast`. Breaking out of the loop or aborting `signal` cancels what is in flight. Once
   * `close()` is called the map pulls no more input; after its last record it rejects with
   * ERR_CLOSED if the source had more. Small results of one shape (numbers, booleans, typed
   * arrays up to 64 KiB) arrive with their typed arrays as views on one buffer per chunk (up to
   * 64 results): copy an array before moving its buffer on.
   * @param task - the task's name, as for {@link run}.
   * @param inputs - the inputs, pulled as results are consumed.
   * @param options - ordered, batchSize, signal, priority, failFast, itemSignal.
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
    if (!this.#lifecycle.accepting) return rejectingGenerator(this.#refusal(`map("${task}")`));
    return mapTasks(this.#host, task, inputs, options, this.#tracer?.batches(task));
  }

  /**
   * Starts a pipeline over `source`: add stages with `.map(task)`, `.filter(fn)` and
   * `.batch(n)`, then iterate it for one record per input (see {@link Pipeline}). Consecutive
   * map stages run fused inside one thread. Once `close()` is called, iterating it rejects with
   * ERR_CLOSED.
   * @param source - the inputs, pulled as records are consumed.
   * @param options - ordered, signal, priority, fuse, tenant, needs.
   * @throws TypeError or RangeError for a bad argument, naming it and the value.
   */
  pipeline<I>(source: Iterable<I> | AsyncIterable<I>, options: PipelineOptions = {}): Pipeline<I, M> {
    const settings = pipelineSettings(source, options);
    this.#engine.checkNeeds(settings.needs, false);
    return new Pipeline<I, M>(this.#pipelineHost(), source, settings);
  }

  /**
   * Runs `fn(ctx)` on the main thread as a task of the orchestrator's root {@link TaskGroup}, in
   * the manner of errgroup's `Go`. `fn` holds no slot itself — only its `ctx.run` calls pass the
   * limiter — so nothing deadlocks at limit 1. If `fn` fails, the root group aborts: every run
   * started through any `ctx.run` is cancelled with ERR_ABORTED, and {@link wait} rejects with the
   * first error. A `go` after that still runs its function, with `ctx.signal` already aborted.
   * @param name - a label for the work (shown in errors).
   * @param fn - the work; sync or async.
   * @param options - `tenant` and `needs` for every `ctx.run` that does not give its own.
   * @throws ClosedError once `close()` has been called; TypeError/RangeError for a bad argument.
   */
  go(name: string, fn: (ctx: GoContext<M>) => unknown, options: GoOptions = {}): void {
    if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${describe(name)}`);
    if (typeof fn !== 'function') throw new TypeError(`fn must be a function, got ${describe(fn)}`);
    checkGo(options);
    this.#engine.checkNeeds(options.needs, false);
    if (!this.#lifecycle.accepting) throw this.#refusal(`go("${name}")`);
    this.#root.go((signal) => {
      const ctx: GoContext<M> = {
        name,
        signal,
        // Accepted work: its runs go on while closing, until the close deadline cancels them.
        run: (task, input, runOptions = {}) =>
          (this.#lifecycle.closed
            ? Promise.reject(this.#refusal(`task "${task}"`))
            : this.#runMaybeCached(task, input, inherit(runOptions, options), signal)) as never,
      };
      return fn(ctx);
    });
  }

  /**
   * Waits until every function started with {@link go} has settled (and so every run they
   * awaited). Rejects with the first error, like errgroup's `Wait`.
   */
  wait(): Promise<void> {
    return this.#root.group.wait();
  }

  /**
   * Stops accepting work (runs, maps, `go` reject with ERR_CLOSED; running maps pull no more
   * input), lets accepted work finish within `closeTimeoutMs`, then cancels what is left
   * (ERR_ABORTED; a running task has `cancelGraceMs` to stop before its thread is terminated),
   * terminates the pool and releases every handle. It does not wait for a `go` function that
   * ignores its cancelled signal (main-thread code cannot be stopped). Idempotent: every call
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
    const deadline = performance.now() + this.#closeTimeoutMs + this.#engine.cancelGraceMs;
    const lifecycle = this.#lifecycle;
    lifecycle.beginClosing();
    await this.#adaptation.close();
    if (!(await lifecycle.idleWithin(this.#closeTimeoutMs))) {
      lifecycle.cancel(new AbortedError('The orchestrator closed before the task finished'));
      await lifecycle.idleWithin(Number.POSITIVE_INFINITY, true);
    }
    lifecycle.markClosed();
    // Spans the tasks made wait in the threads' tracer providers: out with them before the threads end.
    await this.#engine.flushThreads(deadline - performance.now());
    await this.#engine.destroy();
    this.#metrics?.dispose();
  }

  #warn(warning: OrchestratorWarning): void {
    // With nobody listening, a warning still reaches someone, as Node's own do.
    if (this.listenerCount('warning') > 0) this.emit('warning', warning);
    else process.emitWarning(warning.message, { code: warning.code });
  }

  #refusal(what: string): ClosedError {
    return new ClosedError(`The orchestrator is closed; ${what} was refused`);
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
      tenants: this.#engine.admission.tenantLoads(),
      resources: this.#engine.admission.resourceStats(),
    };
  }

  /** What pipelines need besides the map plumbing: chain telemetry and bounded stage counters. */
  #pipelineHost(): PipelineHost {
    const stages = this.#metrics?.stages;
    return Object.assign(Object.create(this.#host) as MapHost, {
      recordChain: this.#recorder.recordChain.bind(this.#recorder),
      stageStats: (label: string) => stageStatsFor(stages, label),
    });
  }

  /** The batch plumbing map and coalesced runs share: the engine's, plus per-item telemetry. */
  #createHost(): MapHost & ConstructorParameters<typeof Coalescer>[0] {
    const engine = this.#engine;
    const recorder = this.#recorder;
    const metrics = this.#metrics;
    return {
      lifecycle: this.#lifecycle,
      get limit(): number {
        return engine.limit;
      },
      get cancelGraceMs(): number {
        return engine.cancelGraceMs;
      },
      get hasFreeSlot(): boolean {
        return engine.hasFreeSlot;
      },
      submitRun: (spec, priority) => engine.submitRun(spec, priority),
      allocateIds: (count) => engine.allocateIds(count),
      route: (id, sink) => engine.route(id, sink),
      unroute: (id, itemIds) => engine.unroute(id, itemIds),
      drainChunks: () => engine.control.drain(),
      abort: (id) => engine.abort(id),
      isIdempotent: (task) => engine.isIdempotent(task),
      adjustQueuedItems: (delta) => engine.adjustQueuedItems(delta),
      recordItem: (task, result, workerMs, waitMs, tenant, exemplar) =>
        recorder.recordItem(task, result, workerMs, waitMs, tenant, exemplar),
      checkNeeds: (needs) => engine.checkNeeds(needs, false),
      recordBatch: (size) => metrics?.recordBatch(size),
      batchLive: (delta) => engine.batchLive(delta),
    };
  }
}

/** An iteration that rejects at once: what map() returns once the orchestrator is closed. */
async function* rejectingGenerator(error: Error): AsyncGenerator<never, void, undefined> {
  await Promise.reject(error);
  yield* [];
}
