import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { AbortedError, QueueFullError } from '../errors.js';
import { AdaptiveLimiter, kAcquireSlot, kCancelWait, kReleaseSlot } from '../limiter/adaptive-limiter.js';
import type { WaitNode } from '../limiter/wait-queue.js';
import {
  isControlPortHello,
  type BatchChunk,
  type ControlMessage,
  type RunnerData,
  type TaskResponse,
} from '../pool/protocol.js';
import { TaskRun, type RunHost, type RunOutcome, type RunSpec } from './task-run.js';

/** Settings the engine runs with, already validated. @internal */
export interface EngineSettings {
  readonly moduleUrl: string;
  readonly baseLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly maxQueue: number;
  readonly cancelGraceMs: number;
  readonly idleTimeoutMs: number;
  readonly resourceLimits: ResourceLimitsOption | undefined;
}

/** Limits for each worker thread (Node's `ResourceLimits`). */
export interface ResourceLimitsOption {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

/** Told about every settled run, for telemetry and adaptive signals. @internal */
export interface RunObserver {
  (run: TaskRun, outcome: RunOutcome, error: unknown): void;
}

/** Runs admitted per running slot: one running and one staged behind it. */
const STAGING = 2;

type PiscinaWorker = { readonly currentUsage: number };

/** What our balancer reads off Piscina's task view: the run behind it. */
type StagedTask = { readonly [kQueueOptions]?: TaskRun | null };

const RUNNER_URL = new URL('../pool/runner.js', import.meta.url).href;

/** Piscina reads this symbol off a task object and shows it to the load balancer. */
const kQueueOptions = Symbol.for('Piscina.queueOptions');

/**
 * The private engine behind {@link Orchestrator}: the limiter in front of a Piscina pool, the
 * control ports of the pool's threads, and the set of live runs.
 *
 * Two numbers bound the work: at most `limit` tasks *run* at once (the load balancer hands a
 * task to a thread only while fewer than `limit` threads are busy, and the pool may not start
 * more than `limit` threads), and at most `2 × limit` runs are *admitted* to the pool (the
 * limiter). The extra `limit` are staged in Piscina's own queue, one behind each running task,
 * so that when a task ends Piscina hands its thread the next one inside its completion handler:
 * a thread never waits for the main thread to finish bookkeeping. Measured here, gating
 * `piscina.run` at exactly the thread count kept only 0.82–0.87 of bare Piscina's throughput on
 * trivial tasks, and one staged task per thread 1.13 (fewer tasks in Piscina's queue).
 * A run that is cancelled while staged is withdrawn from Piscina's queue at once.
 * @internal
 */
export class Engine implements RunHost {
  readonly limiter: AdaptiveLimiter;
  readonly pool: Piscina;
  readonly cancelGraceMs: number;
  readonly #maxQueue: number;
  readonly #ports = new Set<MessagePort>();
  readonly #abortEpoch = new Int32Array(new SharedArrayBuffer(4));
  readonly #minLimit: number;
  readonly #maxLimit: number;
  #limit: number;
  readonly #live = new Set<TaskRun>();
  /** Items in runs waiting for a slot (a map batch counts its items). */
  #queuedItems = 0;
  /** Queued runs marked `gpu`, for the GPU-wait signal. */
  readonly #gpuQueued = new Set<TaskRun>();
  /** Runs told to stop and not yet settled: a thread whose port arrives late is told too. */
  readonly #stopping = new Set<number>();
  #nextId = 1;
  /** Where the chunks of each live batch go, by the batch's request id. */
  readonly #batchSinks = new Map<number, (chunk: BatchChunk) => void>();
  /** Tasks the worker module marked idempotent (learnt from the first thread's hello). */
  #idempotent: ReadonlySet<string> = new Set();
  #observer: RunObserver | undefined;
  #drained: (() => void) | undefined;

  constructor(settings: EngineSettings) {
    this.#limit = settings.baseLimit;
    this.#minLimit = settings.minLimit;
    this.#maxLimit = settings.maxLimit;
    this.limiter = new AdaptiveLimiter({
      limit: STAGING * settings.baseLimit,
      minLimit: STAGING * settings.minLimit,
      maxLimit: STAGING * settings.maxLimit,
    });
    this.cancelGraceMs = settings.cancelGraceMs;
    this.#maxQueue = settings.maxQueue;
    this.pool = new Piscina({
      filename: RUNNER_URL,
      workerData: {
        module: settings.moduleUrl,
        abortEpoch: this.#abortEpoch.buffer,
      } satisfies RunnerData,
      minThreads: settings.minLimit,
      maxThreads: settings.baseLimit,
      idleTimeout: settings.idleTimeoutMs,
      concurrentTasksPerWorker: 1,
      resourceLimits: settings.resourceLimits,
      loadBalancer: ((task: unknown, workers: PiscinaWorker[]) =>
        this.#balance(task as StagedTask, workers)) as never,
      stricterFIFO: true,
    });
    this.pool.on('message', (message: unknown) => {
      if (!isControlPortHello(message)) return;
      this.#idempotent = new Set(message.idempotent);
      this.#adoptPort(message.port);
    });
    // A task crash is reported through its run; the pool-level event must not crash the process.
    this.pool.on('error', () => {});
  }

  /** The most tasks that run at once. */
  get limit(): number {
    return this.#limit;
  }

  /** Runs admitted to the pool: running, or staged behind a running task. */
  get inFlight(): number {
    return this.limiter.inFlight;
  }

  /**
   * Sets the running limit, clamped to [minLimit, maxLimit]; the admission limit and the pool's
   * thread ceiling follow. Threads above a lowered limit finish their task and retire when idle.
   */
  resize(limit: number): number {
    const admitted = this.limiter.resize(STAGING * Math.min(this.#maxLimit, Math.max(this.#minLimit, limit)));
    this.#limit = admitted / STAGING;
    // Piscina reads maxThreads from its live options whenever it considers starting a thread.
    this.pool.options.maxThreads = this.#limit;
    return this.#limit;
  }

  /** Runs waiting for a slot. */
  get queued(): number {
    return this.limiter.pending;
  }

  /** Runs submitted and not yet settled. */
  get live(): number {
    return this.#live.size;
  }

  /**
   * The GPU-wait signal: how long the longest-waiting queued `gpu` run has waited, in seconds;
   * undefined when no `gpu` run waits.
   */
  gpuWaitSeconds(): number | undefined {
    let oldest = Number.POSITIVE_INFINITY;
    for (const run of this.#gpuQueued) oldest = Math.min(oldest, run.submittedAt);
    return oldest === Number.POSITIVE_INFINITY ? undefined : (performance.now() - oldest) / 1000;
  }

  /** Whether the worker module marked `task` idempotent (false until a thread has started). */
  isIdempotent(task: string): boolean {
    return this.#idempotent.has(task);
  }

  /** Reserves `count` consecutive abort ids (for the items of a batch) and returns the first. */
  allocateIds(count: number): number {
    const first = this.#nextId;
    this.#nextId += count;
    return first;
  }

  /** Routes the chunks of batch `id` to `sink` until {@link closeBatch}. */
  openBatch(id: number, sink: (chunk: BatchChunk) => void): void {
    this.#batchSinks.set(id, sink);
  }

  /** Stops routing chunks of batch `id`. */
  closeBatch(id: number): void {
    this.#batchSinks.delete(id);
  }

  /**
   * Reads every chunk the threads have posted so far, synchronously, and hands each to its
   * batch. A runner posts a batch's chunks before its answer, so once the answer (or the crash)
   * is seen here, all of that batch's chunks are already waiting in a control port.
   */
  collectChunks(): void {
    for (const port of this.#ports) this.#drain(port);
  }

  /** Forgets an item abort once its batch has settled (so it is not replayed to new threads). */
  forgetAbort(id: number): void {
    this.#stopping.delete(id);
  }

  /** Sets the function told about every settled run. */
  observe(observer: RunObserver | undefined): void {
    this.#observer = observer;
  }

  /** Submits a run; the returned promise settles exactly once. */
  submit(spec: RunSpec, priority: number): Promise<unknown> {
    return this.submitRun(spec, priority).promise;
  }

  /** Submits a run and returns it; its promise settles exactly once. */
  submitRun(spec: RunSpec, priority: number): TaskRun {
    const run = new TaskRun(this, this.#nextId++, spec);
    this.#live.add(run);
    if (spec.signal?.aborted === true) {
      run.cancel(spec.signal.reason);
      return run;
    }
    if (spec.scopeSignal?.aborted === true) {
      const cause = spec.scopeSignal.reason as unknown;
      run.cancel(new AbortedError(`Task "${spec.task}" was cancelled by its group`, { cause }));
      return run;
    }
    if (this.limiter.pending >= this.#maxQueue && this.limiter.inFlight >= this.limiter.limit) {
      run.refuse(
        new QueueFullError(`The queue is full (maxQueue ${this.#maxQueue}); task "${spec.task}" was shed`),
      );
      return run;
    }
    const node = this.limiter[kAcquireSlot](run, priority);
    if (node === undefined) this.dispatch(run);
    else {
      run.node = node;
      run.wasQueued = true;
      this.#queuedItems += spec.items;
      if (spec.gpu) this.#gpuQueued.add(run);
    }
    return run;
  }

  /** Sends a run that holds a slot to the pool. */
  dispatch(run: TaskRun): void {
    this.#leaveQueue(run);
    run.started();
    const transferList = run.spec.transferList;
    this.pool.run(run.request, { signal: run, transferList: transferList as never }).then(
      (response: TaskResponse) => run.onResponse(response),
      (error: unknown) => run.onFailure(error),
    );
  }

  cancelWait(node: WaitNode): boolean {
    return this.limiter[kCancelWait](node);
  }

  releaseSlot(): void {
    this.limiter[kReleaseSlot]();
  }

  broadcastAbort(id: number): void {
    this.#stopping.add(id);
    const message: ControlMessage = { abort: id };
    for (const port of this.#ports) port.postMessage(message);
    // Bumped after posting, so a runner that sees the new epoch finds the messages in its port.
    Atomics.add(this.#abortEpoch, 0, 1);
  }

  settled(run: TaskRun, outcome: RunOutcome, error: unknown): void {
    this.#live.delete(run);
    this.#stopping.delete(run.request.id);
    this.#leaveQueue(run);
    this.#observer?.(run, outcome, error);
    if (this.#live.size === 0) this.#drained?.();
  }

  /** Resolves when no run is live, or after `timeoutMs`; returns whether everything settled. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.#live.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      // setTimeout treats delays beyond 2^31-1 ms as 1 ms, so "forever" gets no timer at all.
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => finish(false), timeoutMs) : undefined;
      const finish = (done: boolean): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.#drained = undefined;
        resolve(done);
      };
      this.#drained = () => finish(true);
    });
  }

  /** Cancels every live run (queued ones first, so none of them is dispatched meanwhile). */
  cancelAll(reason: unknown): void {
    const runs = [...this.#live];
    for (const run of runs) if (run.queued) run.cancel(reason);
    for (const run of runs) run.cancel(reason);
  }

  /** Terminates the pool's threads and closes the control ports. */
  async destroy(): Promise<void> {
    await this.pool.destroy();
    for (const port of this.#ports) port.close();
    this.#ports.clear();
  }

  /** Items waiting for a slot (or, coalesced, for their batch to leave). */
  get queuedItems(): number {
    return this.#queuedItems;
  }

  /** Counts items waiting outside the limiter: coalesced runs while their batch forms. */
  adjustQueuedItems(delta: number): void {
    this.#queuedItems += delta;
  }

  #leaveQueue(run: TaskRun): void {
    if (!run.wasQueued) return;
    run.wasQueued = false;
    this.#queuedItems -= run.spec.items;
    if (run.spec.gpu) this.#gpuQueued.delete(run);
  }

  /** Piscina's load balancer: an idle thread, but only while fewer than `limit` are busy. */
  #balance(task: StagedTask, workers: readonly PiscinaWorker[]): PiscinaWorker | null {
    let busy = 0;
    let idle: PiscinaWorker | null = null;
    for (const worker of workers) {
      if (worker.currentUsage === 0) idle ??= worker;
      else busy++;
    }
    if (idle === null || busy >= this.#limit) return null;
    task[kQueueOptions]?.enteredWorker();
    return idle;
  }

  #drain(port: MessagePort): void {
    for (let entry = receiveMessageOnPort(port); entry !== undefined; entry = receiveMessageOnPort(port)) {
      const chunk = entry.message as BatchChunk;
      this.#batchSinks.get(chunk.chunk)?.(chunk);
    }
  }

  #adoptPort(port: MessagePort): void {
    this.#ports.add(port);
    // Chunks a first batch sent before this port reached us.
    this.#drain(port);
    // A new thread may already be running a task that was cancelled before its port got here.
    if (this.#stopping.size > 0) {
      for (const id of this.#stopping) port.postMessage({ abort: id } satisfies ControlMessage);
      Atomics.add(this.#abortEpoch, 0, 1);
    }
    port.once('close', () => {
      // A crashed thread's port closes, and its batch's chunks must survive it: the port stays
      // readable until the next turn (reading it inside its own 'close' handler crashes Node 20).
      setImmediate(() => {
        this.#drain(port);
        this.#ports.delete(port);
      });
    });
    // The pool keeps the process alive while it has work; the control port never should.
    port.unref();
  }
}
