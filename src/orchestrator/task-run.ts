import { performance } from 'node:perf_hooks';
import type { Transferable } from 'node:worker_threads';
import { AbortedError, DataCloneError, TaskTimeoutError, WorkerCrashedError } from '../errors.js';
import type { WaitNode, Waiter } from '../limiter/wait-queue.js';
import type { BatchRequest, TaskRequest, TaskResponse } from '../pool/protocol.js';
import { reviveTaskError } from './revive-error.js';
import { unwatch, watch, type AbortWatcher } from './signal-watch.js';

/** How a run ended, as counted by telemetry. */
export type RunOutcome = 'success' | 'error' | 'aborted' | 'timeout' | 'crashed' | 'rejected';

/** What a {@link TaskRun} needs from the engine that owns it. @internal */
export interface RunHost {
  dispatch(run: TaskRun): void;
  cancelWait(node: WaitNode): boolean;
  releaseSlot(): void;
  broadcastAbort(id: number): void;
  settled(run: TaskRun, outcome: RunOutcome, error: unknown): void;
  readonly cancelGraceMs: number;
}

const enum State {
  Queued,
  Running,
  Settled,
}

/** The per-run options the engine accepts. @internal */
export interface RunSpec {
  readonly task: string;
  readonly input: unknown;
  readonly transferList: readonly Transferable[] | undefined;
  readonly signal: AbortSignal | undefined;
  /** A second signal: the scope (TaskGroup) the run belongs to; its abort rejects with ERR_ABORTED. */
  readonly scopeSignal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
  readonly gpu: boolean;
  /** Items carried: 1 for a run, the batch length for a map batch. */
  readonly items: number;
  /** Set for a batch: the input is an array of items and the value a BatchResult. */
  readonly batch: BatchRequest | undefined;
}

/**
 * One submitted run, from admission to settlement: a small state machine that every path
 * (success, task error, crash, abort while queued or running, timeout, close) goes through, so
 * the promise settles exactly once and the slot is returned exactly once.
 *
 * It doubles as the limiter waiter (`grant`), the watcher of the caller's signals
 * (`onSignalAbort`), and the AbortSignal-like object Piscina watches (to terminate the thread
 * when a cancelled task outlives its grace) — one object per run instead of four.
 * @internal
 */
export class TaskRun implements Waiter, AbortWatcher {
  readonly request: TaskRequest;
  readonly submittedAt = performance.now();
  startedAt = 0;
  /** Time the worker reported for the task itself, in ms. */
  workerMs = 0;
  node: WaitNode | undefined;
  /** Counted in the engine's queued items until it leaves the queue. */
  wasQueued = false;
  readonly promise: Promise<unknown>;

  #state = State.Queued;
  #resolve!: (value: unknown) => void;
  #reject!: (reason: unknown) => void;
  #cancelReason: unknown;
  #cancelOutcome: RunOutcome = 'aborted';
  #timer: NodeJS.Timeout | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  /** Piscina's abort listener, while the task is in the pool. */
  #poolAbort: (() => void) | undefined;
  #inWorker = false;

  constructor(
    readonly host: RunHost,
    id: number,
    readonly spec: RunSpec,
  ) {
    // The symbol-keyed back-reference is not cloned to the worker; Piscina passes it to our load
    // balancer, which tells the run when it leaves Piscina's queue for a thread.
    this.request = {
      id,
      task: spec.task,
      input: spec.input,
      batch: spec.batch,
      [Symbol.for('Piscina.queueOptions')]: this,
    };
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (spec.signal !== undefined) watch(spec.signal, this);
    if (spec.scopeSignal !== undefined) watch(spec.scopeSignal, this);
    if (spec.timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.cancel(
          new TaskTimeoutError(`Task "${spec.task}" timed out after ${spec.timeoutMs} ms`),
          'timeout',
        );
      }, spec.timeoutMs);
    }
  }

  get task(): string {
    return this.spec.task;
  }

  get queued(): boolean {
    return this.#state === State.Queued;
  }

  /** Whether a thread has taken the task (it is no longer waiting in the limiter or Piscina's queue). */
  get inWorker(): boolean {
    return this.#inWorker;
  }

  /**
   * Terminates the thread running the task now, without telling the task first: for a batch
   * item that ignored its cancel past the grace. The run then fails as a crash.
   */
  terminate(): void {
    if (this.#state === State.Running && this.#inWorker) this.#poolAbort?.();
  }

  /** Limiter waiter: a slot is ours; send the task now. */
  grant(): void {
    this.node = undefined;
    this.host.dispatch(this);
  }

  /** Marks the run as admitted to the pool (staged in Piscina's queue until a thread takes it). */
  started(): void {
    this.#state = State.Running;
  }

  /** Called by the load balancer as a thread takes the task. */
  enteredWorker(): void {
    this.startedAt = performance.now();
    this.#inWorker = true;
  }

  /** Called when the caller's signal or the scope signal aborts. */
  onSignalAbort(signal: AbortSignal): void {
    if (signal === this.spec.signal) this.cancel(signal.reason, 'aborted');
    else
      this.cancel(
        new AbortedError(`Task "${this.task}" was cancelled by its group`, { cause: signal.reason }),
      );
  }

  /**
   * Cancels the run. Queued: it leaves the queue and rejects now. Running: the worker is told
   * over its control port, and if the task has not stopped within the grace its thread is
   * terminated; the run rejects once the task has stopped, so nothing of it outlives the promise.
   */
  cancel(reason: unknown, outcome: RunOutcome = 'aborted'): void {
    if (this.#state === State.Settled || this.#cancelReason !== undefined) return;
    this.#cancelReason = reason ?? new AbortedError();
    this.#cancelOutcome = outcome;
    if (this.#state === State.Queued) {
      if (this.node === undefined || this.host.cancelWait(this.node))
        this.#settle(outcome, this.#cancelReason);
      return;
    }
    // Still staged in Piscina's queue: withdrawing it there stops it before it starts.
    if (!this.#inWorker) return this.#poolAbort?.();
    this.host.broadcastAbort(this.request.id);
    this.#graceTimer = setTimeout(() => this.#poolAbort?.(), this.host.cancelGraceMs);
  }

  /** Piscina's end of the run: the runner answered. */
  onResponse(response: TaskResponse): void {
    this.host.releaseSlot();
    this.workerMs = response.durationMs;
    if (this.#cancelReason !== undefined) this.#settle(this.#cancelOutcome, this.#cancelReason);
    else if (response.error === undefined) this.#settle('success', undefined, response.value);
    else this.#settle('error', reviveTaskError(this.task, response.error));
  }

  /** Piscina's end of the run: the thread died, was terminated, or the input could not be sent. */
  onFailure(error: unknown): void {
    this.host.releaseSlot();
    if (this.#cancelReason !== undefined) return this.#settle(this.#cancelOutcome, this.#cancelReason);
    if (error instanceof Error && error.name === 'DataCloneError') {
      const message = `The input of task "${this.task}" cannot be structured-cloned: ${error.message}`;
      return this.#settle('rejected', new DataCloneError(message, { cause: error }));
    }
    const message = `The worker running task "${this.task}" crashed: ${error instanceof Error ? error.message : String(error)}`;
    this.#settle('crashed', new WorkerCrashedError(message, { cause: error }));
  }

  /** Rejects a run that never reached the queue (shed or refused at submission). */
  refuse(error: unknown): void {
    this.#settle('rejected', error);
  }

  // --- The AbortSignal-like face Piscina sees (only `addEventListener` is used on it). ---
  readonly aborted = false;
  addEventListener(_type: 'abort', listener: () => void): void {
    this.#poolAbort = listener;
  }
  removeEventListener(): void {
    this.#poolAbort = undefined;
  }

  #settle(outcome: RunOutcome, error: unknown, value?: unknown): void {
    if (this.#state === State.Settled) return;
    this.#state = State.Settled;
    if (this.spec.signal !== undefined) unwatch(this.spec.signal, this);
    if (this.spec.scopeSignal !== undefined) unwatch(this.spec.scopeSignal, this);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    this.host.settled(this, outcome, error);
    if (outcome === 'success') this.#resolve(value);
    else this.#reject(error);
  }
}
