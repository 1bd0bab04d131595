import type { WorkerCacheOptions } from '../cache/options.js';
import { AbortedError, ClosedError } from '../errors.js';
import { settledWithin } from '../internal/settled-within.js';
import { ControlPlane, type ChunkSink } from '../pool/control-plane.js';
import {
  isControlPortHello,
  type ControlPortHello,
  type MetricsDelta,
  type RunnerData,
  type WorkerModuleRef,
} from '../pool/protocol.js';
import { ThreadPool } from '../pool/thread-pool.js';
import { TaskMetricsRelay } from '../task-metrics/relay.js';
import type { TenantsConfig } from '../scheduler/tenants.js';
import { Admission } from './admission.js';
import type { Lifecycle, Producer } from './lifecycle.js';
import { TaskRun, type RunHost, type RunOutcome, type RunSpec } from './task-run.js';

/** Settings the engine runs with, already validated. @internal */
export interface EngineSettings {
  /** The worker modules every thread loads. */
  readonly modules: readonly WorkerModuleRef[];
  readonly baseLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly maxQueue: number;
  readonly cancelGraceMs: number;
  readonly idleTimeoutMs: number;
  readonly resourceLimits: ResourceLimitsOption | undefined;
  /** Nice steps below the process for every pool thread (Linux). */
  readonly threadNice: number;
  readonly tenants: TenantsConfig;
  /** Declared resources and their units. */
  readonly resources: ReadonlyMap<string, number>;
  /**
   * Whether idle threads keep running their event loop (Piscina's `atomics: 'async'`) instead
   * of blocking in `Atomics.wait` between tasks: with tracing on, so that the tracer providers
   * of worker modules export, flush when idle and answer close()'s flush between tasks.
   */
  readonly eventLoopBetweenTasks?: boolean | undefined;
}

/** Limits for each worker thread (Node's `ResourceLimits`). */
export interface ResourceLimitsOption {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

/** Told about every settled run, for telemetry and adaptive signals. @internal */
export type RunObserver = (run: TaskRun, outcome: RunOutcome, error: unknown) => void;

/** Told about every run that starts on a thread (the tenants' service, for telemetry). @internal */
export type StartObserver = (run: TaskRun) => void;

/** Every pool thread's entry: CommonJS, for the Node crash its header describes. @internal */
export const THREAD_ENTRY_URL = new URL('../pool/thread-entry.cjs', import.meta.url).href;

/**
 * The private engine behind {@link Orchestrator}: admission (the scheduler) in front of the
 * thread pool, the control plane, and the set of live runs. It is the lifecycle's producer for
 * runs: close() waits for them and cancels them at its deadline.
 *
 * At most `limit` tasks *run* at once (the pool's balancer and its thread ceiling). Waiting runs
 * stay in the scheduler, which names the run a free thread starts. For each free slot a waiting
 * run could take, the pool keeps a ticket in Piscina's queue (*staged*: a thread takes it at
 * once, or as soon as it has started). A ticket names no run until a thread takes it, so staging
 * never reorders runs, reserves nothing for a tenant and holds no resource units: priority,
 * fair share, caps and resources are all decided at the moment a run starts.
 * @internal
 */
export class Engine implements RunHost, Producer {
  readonly admission: Admission;
  readonly pool: ThreadPool;
  /** Task metrics: the declarations from the hello, the samples from answers and chunks. */
  readonly taskMetrics = new TaskMetricsRelay();
  readonly control = new ControlPlane((delta) => this.taskMetrics.record(delta));
  readonly cancelGraceMs: number;
  readonly #lifecycle: Lifecycle;
  readonly #minLimit: number;
  readonly #maxLimit: number;
  #limit: number;
  readonly #live = new Set<TaskRun>();
  /** Batches whose items have not all settled (see BatchHost.batchLive). */
  #liveBatches = 0;
  #nextId = 1;
  /** The module's tasks and those marked idempotent (learnt from the threads' hello). */
  #tasks: ReadonlySet<string> | undefined;
  #idempotent: ReadonlySet<string> = new Set();
  /** The module's cache declarations (learnt from the threads' hello). */
  #workerCaches: ReadonlyMap<string, WorkerCacheOptions> = new Map();
  #helloSeen!: () => void;
  /** Resolves once a thread has said which tasks the module has. */
  readonly hello = new Promise<void>((resolve) => (this.#helloSeen = resolve));
  #observer: RunObserver | undefined;
  #onStart: StartObserver | undefined;
  /** Whether idle threads read their control port, and so can flush on request. */
  readonly #flushable: boolean;

  constructor(settings: EngineSettings, lifecycle: Lifecycle) {
    this.#lifecycle = lifecycle;
    this.#limit = settings.baseLimit;
    this.#minLimit = settings.minLimit;
    this.#maxLimit = settings.maxLimit;
    this.cancelGraceMs = settings.cancelGraceMs;
    this.#flushable = settings.eventLoopBetweenTasks === true;
    const limit = (): number => this.#limit;
    this.admission = new Admission(
      {
        get limit() {
          return limit();
        },
        get closed() {
          return lifecycle.closed;
        },
        started: (run) => this.#onStart?.(run),
      },
      settings,
    );
    this.pool = new ThreadPool({
      filename: THREAD_ENTRY_URL,
      workerData: {
        modules: settings.modules,
        abortEpoch: this.control.epoch.buffer,
        idleTimeoutMs: settings.idleTimeoutMs,
        threadNice: settings.threadNice,
      } satisfies RunnerData,
      minThreads: settings.minLimit,
      limit: settings.baseLimit,
      idleTimeoutMs: settings.idleTimeoutMs,
      resourceLimits: settings.resourceLimits,
      eventLoopBetweenTasks: settings.eventLoopBetweenTasks === true,
      source: this.admission,
      onMessage: (message) => {
        if (!isControlPortHello(message)) return;
        this.#tasks = new Set(message.tasks);
        this.#idempotent = new Set(message.idempotent);
        this.#workerCaches = new Map(Object.entries(message.cache));
        this.taskMetrics.hello(message.metrics);
        this.control.adopt(message.port, message.threadId);
        this.#helloSeen();
      },
    });
    this.admission.attach(this.pool);
    lifecycle.register(this);
  }

  /** The most tasks that run at once. */
  get limit(): number {
    return this.#limit;
  }

  /** Runs running, plus runs staged (tickets waiting for a thread): at most `limit`. */
  get inFlight(): number {
    return this.admission.inFlight;
  }

  /** Runs waiting beyond the staged ones. */
  get queued(): number {
    return this.admission.queued;
  }

  /** Whether a run submitted now would be shed for the queue. */
  get full(): boolean {
    return this.admission.full;
  }

  /** Items waiting beyond the staged runs (or, coalesced, for their batch to leave). */
  get queuedItems(): number {
    return this.admission.queuedItems;
  }

  /** Counts items waiting outside the scheduler: coalesced runs while their batch forms. */
  adjustQueuedItems(delta: number): void {
    this.admission.adjustQueuedItems(delta);
  }

  /** Whether a run submitted now would be admitted at once. */
  get hasFreeSlot(): boolean {
    return this.admission.hasFreeSlot;
  }

  /** Threads alive now. */
  get threads(): number {
    return this.pool.threads;
  }

  /** Producer: whether every run, and every item of every batch, has settled. */
  get idle(): boolean {
    return this.#live.size === 0 && this.#liveBatches === 0;
  }

  /** Counts batches that are live (see BatchHost.batchLive). */
  batchLive(delta: 1 | -1): void {
    this.#liveBatches += delta;
    if (this.#liveBatches === 0 && this.#live.size === 0) this.#lifecycle.changed();
  }

  /** Producer: close() waits for runs after cancelling them (they stop within the grace). */
  readonly waitAfterCancel = true;

  /** Producer: runs already accepted go on until the deadline. */
  closing(): void {}

  /** Producer: cancels every live run, queued ones first so none of them is staged meanwhile. */
  cancel(reason: unknown): void {
    const runs = [...this.#live];
    for (const run of runs) if (run.queued) run.cancel(reason);
    for (const run of runs) run.cancel(reason);
  }

  /**
   * Sets the running limit, clamped to [minLimit, maxLimit]. The pool's ceiling moves first, so
   * tickets staged for the grown limit find their threads starting; threads above a lowered
   * limit finish their task and retire when idle.
   */
  resize(limit: number): number {
    this.#limit = Math.min(this.#maxLimit, Math.max(this.#minLimit, limit));
    this.pool.setLimit(this.#limit);
    this.admission.sync();
    return this.#limit;
  }

  /** Sets how many units of a declared resource may be held at once (1..declared); returns it. */
  resizeResource(name: string, units: number): number {
    const limit = this.admission.scheduler.setResourceLimit(name, units);
    this.admission.sync();
    return limit;
  }

  /**
   * Checks a run's `needs` against the declared resources.
   * @throws TypeError or RangeError naming the bad entry.
   */
  checkNeeds(needs: unknown, gpu: boolean): void {
    this.admission.scheduler.needsOf(needs, gpu);
  }

  /** The GPU-wait signal (see {@link Admission.gpuWaitSeconds}). */
  gpuWaitSeconds(): number | undefined {
    return this.admission.gpuWaitSeconds();
  }

  /** Whether the worker module marked `task` idempotent (false until a thread has started). */
  isIdempotent(task: string): boolean {
    return this.#idempotent.has(task);
  }

  /** Whether a thread has said which tasks the module has. */
  get tasksKnown(): boolean {
    return this.#tasks !== undefined;
  }

  /** The cache the worker module declares for `task` (`defineTask(fn, { cache })`). */
  workerCache(task: string): WorkerCacheOptions | undefined {
    return this.#workerCaches.get(task);
  }

  /** Whether `task` is one of the module's tasks; undefined until a thread has said. */
  isTask(task: string): boolean | undefined {
    return this.#tasks?.has(task);
  }

  /** Reserves `count` consecutive abort ids (for the items of a batch) and returns the first. */
  allocateIds(count: number): number {
    const first = this.#nextId;
    this.#nextId += count;
    return first;
  }

  /** Routes the chunks of batch `id` to `sink`. */
  route(id: number, sink: ChunkSink): void {
    this.control.route(id, sink);
  }

  /** Stops routing chunks of batch `id` and forgets the aborts of its items. */
  unroute(id: number, itemIds: readonly number[]): void {
    this.control.unroute(id);
    for (const itemId of itemIds) this.control.forget(itemId);
  }

  /** Sets the function told about every settled run. */
  observe(observer: RunObserver | undefined): void {
    this.#observer = observer;
  }

  /** Sets the function told about every run that starts on a thread. */
  observeStarts(observer: StartObserver | undefined): void {
    this.#onStart = observer;
  }

  /** Submits a run and returns it; its promise settles exactly once. */
  submitRun(spec: RunSpec, priority: number): TaskRun {
    const run = new TaskRun(this, this.#nextId++, spec);
    this.#live.add(run);
    if (this.#lifecycle.closed) {
      run.refuse(new ClosedError(`The orchestrator is closed; task "${spec.task}" was refused`));
    } else if (spec.signal?.aborted === true) {
      run.cancel(spec.signal.reason);
    } else if (spec.scopeSignal?.aborted === true) {
      const cause = spec.scopeSignal.reason as unknown;
      run.cancel(new AbortedError(`Task "${spec.task}" was cancelled by its group`, { cause }));
    } else {
      const shed = this.admission.admit(run, priority);
      if (shed !== undefined) run.refuse(shed);
    }
    return run;
  }

  /** Submits a run; the returned promise settles exactly once. */
  submit(spec: RunSpec, priority: number): Promise<unknown> {
    return this.submitRun(spec, priority).promise;
  }

  // --- RunHost ---

  terminate(run: TaskRun): void {
    this.pool.terminate(run);
  }

  cancelWait(run: TaskRun): boolean {
    return this.admission.withdraw(run);
  }

  releaseSlot(run: TaskRun): void {
    this.admission.finished(run);
  }

  abort(id: number): void {
    this.control.abort(id);
  }

  recordMetrics(delta: MetricsDelta, declared: ControlPortHello['metrics'] | undefined): void {
    if (declared !== undefined) this.taskMetrics.hello(declared);
    this.taskMetrics.record(delta);
  }

  settled(run: TaskRun, outcome: RunOutcome, error: unknown): void {
    this.#live.delete(run);
    this.control.forget(run.request.id);
    this.admission.leave(run);
    this.#observer?.(run, outcome, error);
    if (this.#live.size === 0 && this.#liveBatches === 0) this.#lifecycle.changed();
  }

  /**
   * Asks every thread to flush the tracer providers its worker modules registered, and waits
   * for them, at most `ms` (none when `ms` is not positive). Only with `eventLoopBetweenTasks`:
   * a thread blocked in `Atomics.wait` would never read the request.
   */
  async flushThreads(ms: number): Promise<void> {
    if (!this.#flushable || !(ms > 0)) return;
    const deadline = performance.now() + ms;
    // A thread that ran a task may not have had its hello read yet: without its port, its spans
    // would be left behind.
    await settledWithin(this.control.portsOf(this.pool.threadsThatRan()), ms);
    const left = deadline - performance.now();
    if (left > 0) await settledWithin(this.control.flush(), left);
  }

  /** Terminates the pool's threads and closes the control ports; runs still waiting end ERR_CLOSED. */
  async destroy(): Promise<void> {
    this.#lifecycle.unregister(this);
    for (const run of [...this.#live]) {
      if (run.queued)
        run.cancel(new ClosedError(`The orchestrator closed before task "${run.task}" started`));
    }
    await this.pool.destroy();
    this.control.close();
  }
}
