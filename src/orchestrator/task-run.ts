import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import type { Transferable } from 'node:worker_threads';
import {
  AbortedError,
  ClosedError,
  DataCloneError,
  TaskTimeoutError,
  WorkerCrashedError,
} from '../errors.js';
import { clearLongTimeout, setLongTimeout, type LongTimer } from '../internal/long-timer.js';
import { unwatch, watch, type AbortWatcher } from '../internal/signal-watch.js';
import type {
  BatchRequest,
  ControlPortHello,
  MetricsDelta,
  TaskRequest,
  TaskResponse,
} from '../pool/protocol.js';
import type { JobFailure, PoolJob } from '../pool/thread-pool.js';
import type { Place } from '../scheduler/scheduler.js';
import type { RunTrace } from '../tracing/run-trace.js';
import { reviveTaskError } from './revive-error.js';

/** How a run ended, as counted by telemetry. */
export type RunOutcome = 'success' | 'error' | 'aborted' | 'timeout' | 'crashed' | 'rejected';

/** What a {@link TaskRun} needs from the engine that owns it. @internal */
export interface RunHost {
  /** Terminates the thread running `run`. */
  terminate(run: TaskRun): void;
  /** Takes a waiting run out of the scheduler; false if a thread took it already. */
  cancelWait(run: TaskRun): boolean;
  /** A started run has ended: its slot (and its tenant's, and its resource units) come back. */
  releaseSlot(run: TaskRun): void;
  abort(id: number): void;
  settled(run: TaskRun, outcome: RunOutcome, error: unknown): void;
  /**
   * Task metrics that came with an answer: counted whatever becomes of the run; `declared`, the
   * thread's declarations, with its first such answer (it may arrive before the hello).
   */
  recordMetrics(delta: MetricsDelta, declared: ControlPortHello['metrics'] | undefined): void;
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
  /** Marks GPU work (a unit of the `gpu` resource, when one is declared). */
  readonly gpu: boolean;
  /** The tenant the run counts for; undefined: the default tenant. */
  readonly tenant?: string | undefined;
  /** Units of declared resources it holds while it runs (validated by the caller). */
  readonly needs?: Readonly<Record<string, number>> | undefined;
  /** Items carried: 1 for a run, the batch length for a map batch. */
  readonly items: number;
  /** Set for a batch: the input is an array of items and the value a BatchResult. */
  readonly batch: BatchRequest | undefined;
  /** The library's own run (listing the tasks): not counted in telemetry. */
  readonly internal?: boolean | undefined;
  /** Its span (for a batch, its items' and the batch's), when the orchestrator traces. */
  readonly trace?: RunTrace | undefined;
}

/**
 * One submitted run, from submission to settlement: a small state machine that every path
 * (success, task error, crash, refusal, abort while queued or running, timeout, close) goes
 * through, so the promise settles exactly once and the slot is returned exactly once.
 *
 * Queued: waiting in the scheduler (for its turn, its tenant's room, its resource units, a
 * thread). Running: a thread took it. It doubles as the watcher of the caller's signals and the
 * pool's job — one object per run instead of three.
 * @internal
 */
export class TaskRun implements AbortWatcher, PoolJob {
  readonly request: TaskRequest;
  readonly submittedAt = performance.now();
  startedAt = 0;
  /** The thread that took it, once running. */
  threadId = -1;
  /** Time the worker reported for the task itself, in ms. */
  workerMs = 0;
  /** Its place in the scheduler, from submission on (the scheduler ends it when the run does). */
  place: Place<TaskRun> | undefined;
  /** Counted among the waiting runs, from submission until it starts or leaves. */
  waiting = false;
  readonly promise: Promise<unknown>;

  #state = State.Queued;
  #resolve!: (value: unknown) => void;
  #reject!: (reason: unknown) => void;
  #cancelReason: unknown;
  #cancelOutcome: RunOutcome = 'aborted';
  #timer: LongTimer | undefined;
  #graceTimer: LongTimer | undefined;

  constructor(
    readonly host: RunHost,
    id: number,
    readonly spec: RunSpec,
  ) {
    this.request = { id, task: spec.task, input: spec.input, batch: spec.batch, trace: spec.trace?.carrier };
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (spec.signal !== undefined) watch(spec.signal, this);
    if (spec.scopeSignal !== undefined) watch(spec.scopeSignal, this);
    if (spec.timeoutMs !== undefined) {
      this.#timer = setLongTimeout(() => {
        const error = new TaskTimeoutError(`Task "${spec.task}" timed out after ${spec.timeoutMs} ms`);
        this.cancel(error, 'timeout');
      }, spec.timeoutMs);
    }
  }

  get task(): string {
    return this.spec.task;
  }

  get transferList(): readonly Transferable[] | undefined {
    return this.spec.transferList;
  }

  get queued(): boolean {
    return this.#state === State.Queued;
  }

  /** Whether a thread has taken the task. */
  get inWorker(): boolean {
    return this.#state === State.Running;
  }

  /** Whether it has settled. */
  get settled(): boolean {
    return this.#state === State.Settled;
  }

  /**
   * Terminates the thread running the task now, without telling the task first: for a batch
   * item that ignored its cancel past the grace. The run then fails as a crash.
   */
  terminate(): void {
    if (this.#state === State.Running) this.host.terminate(this);
  }

  /** Pool job: a thread took it. */
  started(threadId: number): void {
    this.#state = State.Running;
    this.threadId = threadId;
    this.startedAt = performance.now();
    this.spec.trace?.started(threadId);
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
   * Cancels the run. Queued: it leaves the line and rejects now. Running: the worker is told over
   * its control port, and if the task has not stopped within the grace its thread is
   * terminated; the run rejects once the task has stopped, so nothing of it outlives the promise.
   */
  cancel(reason: unknown, outcome: RunOutcome = 'aborted'): void {
    if (this.#state === State.Settled || this.#cancelReason !== undefined) return;
    this.#cancelReason = reason ?? new AbortedError();
    this.#cancelOutcome = outcome;
    if (this.#state === State.Queued) {
      if (this.place === undefined || this.host.cancelWait(this)) this.#settle(outcome, this.#cancelReason);
      return;
    }
    this.host.abort(this.request.id);
    this.#graceTimer = setLongTimeout(() => this.terminate(), this.host.cancelGraceMs);
  }

  /** Pool job: the runner answered. */
  answered(response: TaskResponse): void {
    if (response.metrics !== undefined) this.host.recordMetrics(response.metrics, response.declared);
    // Before the slot goes back: admission learns job lengths from it.
    this.workerMs = response.durationMs;
    this.host.releaseSlot(this);
    this.spec.trace?.stopped();
    if (this.#cancelReason !== undefined) this.#settle(this.#cancelOutcome, this.#cancelReason);
    else if (response.error === undefined) this.#settle('success', undefined, response.value);
    else this.#settle('error', reviveTaskError(this.task, response.error));
  }

  /** Pool job: no answer came — the thread died or was terminated, or the request could not be sent. */
  failed(error: unknown, how: JobFailure): void {
    this.host.releaseSlot(this);
    this.spec.trace?.stopped();
    if (this.#cancelReason !== undefined) return this.#settle(this.#cancelOutcome, this.#cancelReason);
    if (how === 'destroyed') {
      return this.#settle(
        'aborted',
        new ClosedError(`The orchestrator closed before task "${this.task}" finished`),
      );
    }
    if (how === 'refused') {
      const message = `The input of task "${this.task}" cannot be structured-cloned: ${describeError(error)}`;
      return this.#settle('rejected', new DataCloneError(message, { cause: error }));
    }
    const message = `The worker running task "${this.task}" crashed: ${describeError(error)}`;
    this.#settle('crashed', new WorkerCrashedError(message, { cause: error }));
  }

  /** Rejects a run that never reached the queue (shed or refused at submission). */
  refuse(error: unknown): void {
    this.#settle('rejected', error);
  }

  #settle(outcome: RunOutcome, error: unknown, value?: unknown): void {
    if (this.#state === State.Settled) return;
    this.#state = State.Settled;
    if (this.spec.signal !== undefined) unwatch(this.spec.signal, this);
    if (this.spec.scopeSignal !== undefined) unwatch(this.spec.scopeSignal, this);
    clearLongTimeout(this.#timer);
    clearLongTimeout(this.#graceTimer);
    this.host.settled(this, outcome, error);
    if (outcome === 'success') this.#resolve(value);
    else this.#reject(error);
  }
}

/** An error's message for ours; anything else a thread may throw (a plain object), inspected. */
function describeError(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : inspect(error, { depth: 2, breakLength: Infinity });
}
