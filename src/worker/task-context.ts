import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { ControlMessage } from '../pool/protocol.js';
import type { MetricDeclarations } from '../task-metrics/declaration.js';
import type { TaskMetrics } from '../task-metrics/task-metrics.js';

/**
 * What a task receives besides its input: the task's name and its cancellation state.
 *
 * `signal` is a real AbortSignal, aborted when the main thread cancels the run (its signal,
 * its timeout, its group, or `close()`). An async task sees it whenever it yields to the event
 * loop. A synchronous CPU-bound loop never yields, so it calls {@link throwIfAborted} (or reads
 * {@link aborted}) now and then: that polls the control port directly.
 *
 * `M`: the task's metric declarations (`defineTask(fn, { metrics })`), which type `metrics`.
 */
export interface TaskContext<M extends MetricDeclarations = MetricDeclarations> {
  /** The export being run. */
  readonly taskName: string;
  /** Aborted when the run is cancelled; `reason` says why. */
  readonly signal: AbortSignal;
  /** Whether the run has been cancelled; polls the main thread's control messages first. */
  readonly aborted: boolean;
  /**
   * Throws the abort reason if the run has been cancelled. Cheap enough for a tight loop
   * (an atomic load; the port is polled only after an abort was posted); call it every few milliseconds of work.
   */
  throwIfAborted(): void;
  /**
   * Records the metrics the task declares: `inc`, `set`, `observe`. Values travel to the main
   * thread with the task's result; misuse throws ERR_INVALID_METRIC here.
   */
  readonly metrics: TaskMetrics<M>;
}

/** The `ctx.metrics` of a task, by task name. @internal */
export type MetricsOf = (taskName: string) => TaskMetrics;

/** @internal The reason given to a task's signal; the main thread rejects the run itself. */
export function cancelledReason(): Error {
  const error = new Error('The run was cancelled by the main thread');
  error.name = 'AbortError';
  return error;
}

/**
 * Tracks which task ids running on this thread have been aborted, fed by the control port.
 * @internal
 */
export class AbortBook {
  readonly #port: MessagePort;
  readonly #epoch: Int32Array;
  #seenEpoch = 0;
  readonly #running = new Map<number, RunningTask>();
  /** Aborts that arrived before their task started here (or for tasks on other threads). */
  readonly #early = new Set<number>();

  readonly #metricsOf: MetricsOf;

  /** @param metricsOf - each task's `ctx.metrics`. */
  constructor(port: MessagePort, epoch: SharedArrayBuffer, metricsOf: MetricsOf) {
    this.#metricsOf = metricsOf;
    this.#port = port;
    this.#epoch = new Int32Array(epoch);
    port.on('message', (message: ControlMessage) => {
      this.#apply(message);
    });
    // Runner threads stay alive because of Piscina, never because of this port.
    port.unref();
  }

  /**
   * Registers a task (or one item of a batch) about to run and returns its context. An item's
   * context is also aborted when its batch (`parent`) is.
   */
  open(id: number, taskName: string, parent?: RunningTask): RunningTask {
    const task = new RunningTask(this, taskName, this.#metricsOf);
    this.#running.set(id, task);
    if (this.#early.delete(id)) task.abort();
    parent?.adopt(task);
    return task;
  }

  /** Forgets a finished task. */
  close(id: number): void {
    this.#running.delete(id);
  }

  /** Drains the control port if the main thread has posted aborts since the last look. */
  sync(): void {
    const epoch = Atomics.load(this.#epoch, 0);
    if (epoch === this.#seenEpoch) return;
    this.#seenEpoch = epoch;
    this.poll();
  }

  /** Whether an abort for a task that has not started here yet has arrived. */
  abortedBeforeStart(id: number): boolean {
    return this.#early.has(id);
  }

  /** Drains control messages that arrived while the thread was busy. */
  poll(): void {
    let entry: { message: ControlMessage } | undefined;
    while ((entry = receiveMessageOnPort(this.#port)) !== undefined) {
      this.#apply(entry.message);
    }
  }

  #apply(message: ControlMessage): void {
    const task = this.#running.get(message.abort);
    if (task !== undefined) {
      task.abort();
      return;
    }
    // Aborts are broadcast to every thread, so most name tasks that never run here; keep a
    // bounded memory of them in case the task's own message is still on its way.
    this.#early.add(message.abort);
    if (this.#early.size > EARLY_ABORT_MEMORY) {
      const oldest = this.#early.values().next().value as number;
      this.#early.delete(oldest);
    }
  }
}

const EARLY_ABORT_MEMORY = 4096;

/** @internal The context of one running task. */
export class RunningTask implements TaskContext {
  readonly #book: AbortBook;
  #aborted = false;
  #controller: AbortController | undefined;
  /** The batch item running under this (batch) context, which an abort of the batch reaches. */
  #child: RunningTask | undefined;
  readonly #metricsOf: MetricsOf;
  #metrics: TaskMetrics | undefined;

  constructor(
    book: AbortBook,
    readonly taskName: string,
    metricsOf: MetricsOf,
  ) {
    this.#book = book;
    this.#metricsOf = metricsOf;
  }

  get metrics(): TaskMetrics {
    return (this.#metrics ??= this.#metricsOf(this.taskName));
  }

  get signal(): AbortSignal {
    // Created on first use: most tasks never look at it, and an AbortController is not free.
    this.#controller ??= new AbortController();
    if (this.#aborted && !this.#controller.signal.aborted) this.#controller.abort(cancelledReason());
    return this.#controller.signal;
  }

  get aborted(): boolean {
    if (!this.#aborted) this.#book.sync();
    return this.#aborted;
  }

  throwIfAborted(): void {
    if (this.aborted) throw (this.signal.reason as Error | undefined) ?? cancelledReason();
  }

  /** Makes `child` the item running under this batch context; aborted now if the batch is. */
  adopt(child: RunningTask): void {
    this.#child = child;
    if (this.#aborted) child.abort();
  }

  /** Marks the task aborted and fires its signal (and its running item's). */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#controller?.abort(cancelledReason());
    this.#child?.abort();
  }
}
