import type { WorkerCacheOptions } from '../cache/options.js';
import { AbortedError, ClosedError, QueueFullError } from '../errors.js';
import { clearLongTimeout, setLongTimeout, type LongTimer } from '../internal/long-timer.js';
import { AdaptiveLimiter, kAcquireSlot, kCancelWait, kReleaseSlot } from '../limiter/adaptive-limiter.js';
import type { WaitNode } from '../limiter/wait-queue.js';
import { ControlPlane, type ChunkSink } from '../pool/control-plane.js';
import { isControlPortHello, type RunnerData, type WorkerModuleRef } from '../pool/protocol.js';
import { ThreadPool } from '../pool/thread-pool.js';
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

/** Runs admitted per running slot: one running and one staged behind it. */
const STAGING = 2;

/** Every pool thread's entry: CommonJS, for the Node crash its header describes. @internal */
export const THREAD_ENTRY_URL = new URL('../pool/thread-entry.cjs', import.meta.url).href;

/**
 * The private engine behind {@link Orchestrator}: the limiter in front of the thread pool, the
 * control plane, and the set of live runs. It is the lifecycle's producer for runs: close()
 * waits for them and cancels them at its deadline.
 *
 * Two numbers bound the work: at most `limit` tasks *run* at once (the pool's balancer and its
 * thread ceiling), and at most `2 × limit` runs are *admitted* (the limiter). The extra `limit`
 * are staged in the pool, in priority-then-FIFO order, so that a thread that finishes a task
 * takes the next one inside Piscina's own completion handler: measured here, gating at exactly
 * the thread count kept only 0.82–0.87 of bare Piscina's throughput on trivial tasks.
 * @internal
 */
export class Engine implements RunHost, Producer {
  readonly limiter: AdaptiveLimiter;
  readonly pool: ThreadPool;
  readonly control = new ControlPlane();
  readonly cancelGraceMs: number;
  readonly #lifecycle: Lifecycle;
  readonly #maxQueue: number;
  readonly #minLimit: number;
  readonly #maxLimit: number;
  #limit: number;
  readonly #live = new Set<TaskRun>();
  /** Batches whose items have not all settled (see BatchHost.batchLive). */
  #liveBatches = 0;
  /** Items in runs waiting for a slot (a map batch counts its items). */
  #queuedItems = 0;
  /** Queued runs marked `gpu`, for the GPU-wait signal. */
  readonly #gpuQueued = new Set<TaskRun>();
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
  /** Whether idle threads read their control port, and so can flush on request. */
  readonly #flushable: boolean;

  constructor(settings: EngineSettings, lifecycle: Lifecycle) {
    this.#lifecycle = lifecycle;
    this.#limit = settings.baseLimit;
    this.#minLimit = settings.minLimit;
    this.#maxLimit = settings.maxLimit;
    this.limiter = new AdaptiveLimiter({
      limit: STAGING * settings.baseLimit,
      minLimit: STAGING * settings.minLimit,
      maxLimit: STAGING * settings.maxLimit,
    });
    this.cancelGraceMs = settings.cancelGraceMs;
    this.#flushable = settings.eventLoopBetweenTasks === true;
    this.#maxQueue = settings.maxQueue;
    this.pool = new ThreadPool({
      filename: THREAD_ENTRY_URL,
      workerData: {
        modules: settings.modules,
        abortEpoch: this.control.epoch.buffer,
        idleTimeoutMs: settings.idleTimeoutMs,
      } satisfies RunnerData,
      minThreads: settings.minLimit,
      limit: settings.baseLimit,
      idleTimeoutMs: settings.idleTimeoutMs,
      resourceLimits: settings.resourceLimits,
      eventLoopBetweenTasks: settings.eventLoopBetweenTasks === true,
      onMessage: (message) => {
        if (!isControlPortHello(message)) return;
        this.#tasks = new Set(message.tasks);
        this.#idempotent = new Set(message.idempotent);
        this.#workerCaches = new Map(Object.entries(message.cache));
        this.control.adopt(message.port);
        this.#helloSeen();
      },
    });
    lifecycle.register(this);
  }

  /** The most tasks that run at once. */
  get limit(): number {
    return this.#limit;
  }

  /** Runs admitted to the pool: running, or staged for a thread. */
  get inFlight(): number {
    return this.limiter.inFlight;
  }

  /** Runs waiting for a slot. */
  get queued(): number {
    return this.limiter.pending;
  }

  /** Items waiting for a slot (or, coalesced, for their batch to leave). */
  get queuedItems(): number {
    return this.#queuedItems;
  }

  /** Counts items waiting outside the limiter: coalesced runs while their batch forms. */
  adjustQueuedItems(delta: number): void {
    this.#queuedItems += delta;
  }

  /** Whether a run submitted now would be admitted at once. */
  get hasFreeSlot(): boolean {
    return this.limiter.pending === 0 && this.limiter.inFlight < this.limiter.limit;
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
   * runs the grown limiter admits find their threads starting; threads above a lowered limit
   * finish their task and retire when idle.
   */
  resize(limit: number): number {
    this.#limit = Math.min(this.#maxLimit, Math.max(this.#minLimit, limit));
    this.pool.setLimit(this.#limit);
    this.limiter.resize(STAGING * this.#limit);
    return this.#limit;
  }

  /**
   * The GPU-wait signal: how long the longest-waiting queued `gpu` run has waited, in seconds;
   * undefined when no `gpu` run waits. Queued runs are in arrival order, so it is the first.
   */
  gpuWaitSeconds(): number | undefined {
    const oldest = this.#gpuQueued.values().next().value;
    return oldest === undefined ? undefined : (performance.now() - oldest.submittedAt) / 1000;
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
    } else if (this.limiter.pending >= this.#maxQueue && this.limiter.inFlight >= this.limiter.limit) {
      const message = `The queue is full (maxQueue ${this.#maxQueue}); task "${spec.task}" was shed`;
      run.refuse(new QueueFullError(message));
    } else {
      this.#admit(run, priority);
    }
    return run;
  }

  /** Submits a run; the returned promise settles exactly once. */
  submit(spec: RunSpec, priority: number): Promise<unknown> {
    return this.submitRun(spec, priority).promise;
  }

  // --- RunHost ---

  stage(run: TaskRun): void {
    this.#leaveQueue(run);
    this.pool.stage(run, run.priority);
  }

  unstage(run: TaskRun): boolean {
    return this.pool.unstage(run);
  }

  terminate(run: TaskRun): void {
    this.pool.terminate(run);
  }

  cancelWait(node: WaitNode): boolean {
    return this.limiter[kCancelWait](node);
  }

  releaseSlot(): void {
    this.limiter[kReleaseSlot]();
  }

  abort(id: number): void {
    this.control.abort(id);
  }

  settled(run: TaskRun, outcome: RunOutcome, error: unknown): void {
    this.#live.delete(run);
    this.control.forget(run.request.id);
    this.#leaveQueue(run);
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
    let timer: LongTimer | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setLongTimeout(resolve, ms)));
    try {
      await Promise.race([this.control.flush(), timeout]);
    } finally {
      clearLongTimeout(timer);
    }
  }

  /** Terminates the pool's threads and closes the control ports. */
  async destroy(): Promise<void> {
    this.#lifecycle.unregister(this);
    await this.pool.destroy();
    this.control.close();
  }

  #admit(run: TaskRun, priority: number): void {
    run.priority = priority;
    const node = this.limiter[kAcquireSlot](run, priority);
    if (node === undefined) return run.admitted();
    run.node = node;
    run.wasQueued = true;
    this.#queuedItems += run.spec.items;
    if (run.spec.gpu) this.#gpuQueued.add(run);
  }

  #leaveQueue(run: TaskRun): void {
    if (!run.wasQueued) return;
    run.wasQueued = false;
    this.#queuedItems -= run.spec.items;
    if (run.spec.gpu) this.#gpuQueued.delete(run);
  }
}
