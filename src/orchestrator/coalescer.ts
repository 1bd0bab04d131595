import { AbortedError, TaskTimeoutError } from '../errors.js';
import { clearLongTimeout, setLongTimeout, type LongTimer } from '../internal/long-timer.js';
import { WarmedEstimate } from '../internal/moving-average.js';
import { Batch, BatchItem, type BatchHost, type ItemHost } from './batch.js';
import { nextBatchSize, TARGET_BATCH_MS } from './batch-size.js';
import type { Producer } from './lifecycle.js';
import type { RunSpec } from './task-run.js';

/** The `batch` option of an Orchestrator: coalesce `run()` calls into batches. */
export interface CoalesceOptions {
  /** The most runs in one batch. */
  maxSize: number;
  /**
   * How long a run may wait for others to join its batch, in ms, while the pool is busy. When a
   * thread is free, a batch leaves at the end of the current tick instead (runs submitted in the
   * same tick still share it). 0: always at the end of the tick.
   */
  maxDelayMs: number;
  /**
   * The most measured work of its task a batch holds, in ms: longer batches would save nothing
   * more and would hold one thread while others idle. Until one run of a task has been timed,
   * its runs go alone. Infinity: batches fill to `maxSize` whatever their cost, from the first
   * run. @default 8
   */
  maxBatchMs?: number | undefined;
}

/** What a coalesced run carries: a run's spec, less what its batch decides. @internal */
export type CoalescedRun = Pick<
  RunSpec,
  | 'task'
  | 'input'
  | 'transferList'
  | 'signal'
  | 'scopeSignal'
  | 'timeoutMs'
  | 'gpu'
  | 'tenant'
  | 'needs'
  | 'trace'
> & { readonly priority: number };

/** What coalescing needs besides the batch plumbing. @internal */
export interface CoalesceHost extends BatchHost, ItemHost {
  /** Whether a run submitted now would get a slot at once. */
  readonly hasFreeSlot: boolean;
  /** Runs waiting for their batch to leave count in the queue depth too. */
  adjustQueuedItems(delta: number): void;
}

/** Runs waiting to leave together: same task, priority, GPU flag, tenant and needs. */
interface Forming {
  readonly key: string;
  readonly run: CoalescedRun;
  readonly items: BatchItem[];
  timer: NodeJS.Timeout | undefined;
}

/** Weight of the newest item in a task's moving average of worker time per run. */
const COST_SMOOTHING = 0.1;
/**
 * A task's first timed runs, of which the fastest is its estimate before the moving average
 * takes over (see {@link WarmedEstimate}): each of the first threads may pay a cold start.
 */
const WARM_UP_RUNS = 3;

/**
 * Coalesces `run()` calls of one task into batches, so that many small runs cost one Piscina
 * task; a batch holds at most about {@link TARGET_BATCH_MS} of a task's measured work, so long
 * tasks stay spread over the threads. Each run keeps its own semantics inside the batch: its
 * own promise, signal, group and deadline (it is skipped if cancelled before it starts, sees
 * `ctx.throwIfAborted()` while it runs), its own error, its own telemetry.
 * @internal
 */
export class Coalescer implements Producer {
  readonly #host: CoalesceHost;
  readonly #options: CoalesceOptions;
  readonly #forming = new Map<string, Forming>();
  /** Each task's worker time per run, once one has run. */
  readonly #costs = new Map<string, WarmedEstimate>();

  constructor(host: CoalesceHost, options: CoalesceOptions) {
    this.#host = host;
    this.#options = options;
  }

  /** Submits one run; the promise settles exactly once, like an uncoalesced run's. */
  submit(run: CoalescedRun): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const { signal, scopeSignal, timeoutMs } = run;
      const cancellable = signal !== undefined || scopeSignal !== undefined || timeoutMs !== undefined;
      let timer: LongTimer | undefined;
      const item = new BatchItem(
        this.#host,
        run.task,
        run.input,
        run.transferList,
        cancellable,
        (result, ms) => {
          clearLongTimeout(timer);
          if (ms !== undefined) this.learnCost(run.task, ms);
          if (result.ok) resolve(result.value);
          else reject(result.error);
        },
      );
      item.tenant = run.tenant;
      item.trace = run.trace;
      item.follow([signal, scopeSignal], (aborted) => abortReason(run, aborted));
      if (item.settled) return;
      if (timeoutMs !== undefined) {
        timer = setLongTimeout(() => {
          item.abort(new TaskTimeoutError(`Task "${run.task}" timed out after ${timeoutMs} ms`), 'timeout');
        }, timeoutMs);
      }
      this.#add(run, item);
    });
  }

  /** Producer: close() was called; accepted runs must reach the pool, so every forming batch leaves now. */
  closing(): void {
    for (const forming of [...this.#forming.values()]) this.#flush(forming);
  }

  /** Producer: nothing to cancel here; the batches are the engine's runs. */
  cancel(): void {}

  /** Producer: no batch is forming. */
  get idle(): boolean {
    return this.#forming.size === 0;
  }

  readonly waitAfterCancel = false;

  #add(run: CoalescedRun, item: BatchItem): void {
    const key = `${run.task}\u0000${run.priority}\u0000${run.gpu}\u0000${run.tenant ?? ''}\u0000${needsKey(run.needs)}`;
    let forming = this.#forming.get(key);
    if (forming === undefined) {
      forming = { key, run, items: [], timer: undefined };
      this.#forming.set(key, forming);
      this.#schedule(forming);
    }
    forming.items.push(item);
    this.#host.adjustQueuedItems(1);
    if (forming.items.length >= this.#sizeFor(run.task)) this.#flush(forming);
  }

  /**
   * How many runs of `task` a batch may hold: one while the task is untimed (a probe, as map
   * sends: a first burst of long runs must not all go to one thread), then `maxSize` or fewer,
   * as the task's measured cost allows within `maxBatchMs`.
   */
  #sizeFor(task: string): number {
    const { maxSize, maxBatchMs = TARGET_BATCH_MS } = this.#options;
    if (maxBatchMs === Number.POSITIVE_INFINITY) return maxSize;
    const perItemMs = this.#costs.get(task)?.ms;
    return nextBatchSize({
      perItemMs,
      batchSize: maxSize,
      remaining: undefined,
      limit: 1,
      targetMs: maxBatchMs,
    });
  }

  /**
   * Whether runs of `task` coalesce now: always with `maxBatchMs: Infinity`; otherwise once the
   * task has been timed, and while its measured cost lets a batch hold more than one run. A run
   * that does not takes the one-task path, whose semantics a coalesced run keeps, without a
   * batch's machinery.
   */
  coalesces(task: string): boolean {
    return this.#options.maxBatchMs === Number.POSITIVE_INFINITY || this.#sizeFor(task) > 1;
  }

  /**
   * Records the worker time of one run of `task`, alone or in a batch: the fastest of its first
   * {@link WARM_UP_RUNS} runs, then a moving average.
   */
  learnCost(task: string, ms: number): void {
    let cost = this.#costs.get(task);
    if (cost === undefined) this.#costs.set(task, (cost = new WarmedEstimate(COST_SMOOTHING, WARM_UP_RUNS)));
    cost.record(ms);
  }

  #schedule(forming: Forming): void {
    if (this.#options.maxDelayMs === 0 || this.#host.hasFreeSlot) {
      queueMicrotask(() => this.#flush(forming));
      return;
    }
    forming.timer = setTimeout(() => this.#flush(forming), this.#options.maxDelayMs);
  }

  #flush(forming: Forming): void {
    if (this.#forming.get(forming.key) !== forming) return;
    this.#forming.delete(forming.key);
    if (forming.timer !== undefined) clearTimeout(forming.timer);
    this.#host.adjustQueuedItems(-forming.items.length);
    // Runs cancelled while the batch formed have settled already.
    const items = forming.items.filter((item) => !item.settled);
    if (items.length === 0) return;
    const { task, priority, gpu, tenant, needs } = forming.run;
    new Batch(this.#host, task, items, { priority, gpu, tenant, needs });
  }
}

/** The error a run's signal or its group gives it, as an uncoalesced run would get. */
function abortReason(run: CoalescedRun, signal: AbortSignal): unknown {
  if (signal === run.signal) return signal.reason;
  return new AbortedError(`Task "${run.task}" was cancelled by its group`, { cause: signal.reason });
}

/** The same needs give the same key, whatever the order of their entries. */
function needsKey(needs: CoalescedRun['needs']): string {
  if (needs === undefined) return '';
  return Object.entries(needs)
    .filter(([, units]) => units > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, units]) => `${name}=${units}`)
    .join(',');
}
