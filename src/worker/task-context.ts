import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { ControlMessage, TraceCarrier } from '../pool/protocol.js';
import { contextOf, traceparentOf } from './trace-context.js';

/**
 * A trace context: OpenTelemetry's `Context` interface, restated so that these declarations do
 * not need `@opentelemetry/api` installed. Pass it wherever the API takes a `Context`.
 */
export interface TraceContext {
  getValue(key: symbol): unknown;
  setValue(key: symbol, value: unknown): TraceContext;
  deleteValue(key: symbol): TraceContext;
}

/**
 * What a task receives besides its input: the task's name and its cancellation state.
 *
 * `signal` is a real AbortSignal, aborted when the main thread cancels the run (its signal,
 * its timeout, its group, or `close()`). An async task sees it whenever it yields to the event
 * loop. A synchronous CPU-bound loop never yields, so it calls {@link throwIfAborted} (or reads
 * {@link aborted}) now and then: that polls the control port directly.
 */
export interface TaskContext {
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
   * The run's trace context, when the orchestrator traces (`tracing` option): an OpenTelemetry
   * `Context` whose active span is the run's span, with the caller's baggage. The task runs
   * inside it, so with a context manager registered in the thread (see
   * `registerTracerProvider`) spans it starts are children of the run's span; otherwise pass it
   * explicitly: `tracer.startSpan('step', {}, ctx.traceContext)`. Undefined when the run is not
   * traced, or `@opentelemetry/api` cannot be loaded in the worker. (Optional in the type, like
   * `traceparent`, so that a context made by hand, to call a task directly in a unit test, needs
   * neither.)
   */
  readonly traceContext?: TraceContext | undefined;
  /**
   * The W3C `traceparent` of the run's span (`00-{trace id}-{span id}-{flags}`), to pass on (an
   * HTTP header, a queue message) without the OpenTelemetry API. Undefined when not traced.
   */
  readonly traceparent?: string | undefined;
}

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
  readonly #onFlush: ((id: number) => void) | undefined;
  readonly #epoch: Int32Array;
  #seenEpoch = 0;
  readonly #running = new Map<number, RunningTask>();
  /** Aborts that arrived before their task started here (or for tasks on other threads). */
  readonly #early = new Set<number>();

  /** @param onFlush - called for the main thread's flush requests, which share the port. */
  constructor(port: MessagePort, epoch: SharedArrayBuffer, onFlush?: (id: number) => void) {
    this.#port = port;
    this.#onFlush = onFlush;
    this.#epoch = new Int32Array(epoch);
    port.on('message', (message: ControlMessage) => {
      this.#apply(message);
    });
    // Runner threads stay alive because of Piscina, never because of this port.
    port.unref();
  }

  /**
   * Registers a task (or one item of a batch) about to run and returns its context. An item's
   * context is also aborted when its batch (`parent`) is. `trace` is its span's context.
   */
  open(id: number, taskName: string, parent?: RunningTask, trace?: TraceCarrier): RunningTask {
    const task = new RunningTask(this, taskName, trace);
    this.#running.set(id, task);
    if (this.#early.delete(id)) task.abort();
    parent?.adopt(task);
    return task;
  }

  /**
   * The context of a batch item that cannot be cancelled alone but has a span of its own (a
   * coalesced run without signal or deadline): the batch's cancellation, its own trace.
   */
  child(taskName: string, parent: RunningTask, trace: TraceCarrier): RunningTask {
    const task = new RunningTask(this, taskName, trace);
    parent.adopt(task);
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
    if ('flush' in message) {
      this.#onFlush?.(message.flush);
      return;
    }
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
  /** Its span's context, as it arrived. */
  readonly trace: TraceCarrier | undefined;
  #traceContext: TraceContext | undefined;

  constructor(
    book: AbortBook,
    readonly taskName: string,
    trace?: TraceCarrier,
  ) {
    this.#book = book;
    this.trace = trace;
  }

  get traceContext(): TraceContext | undefined {
    // Made on first use, like signal; the runner asks for it before the task starts.
    if (this.#traceContext === undefined && this.trace !== undefined)
      this.#traceContext = contextOf(this.trace);
    return this.#traceContext;
  }

  get traceparent(): string | undefined {
    return this.trace === undefined ? undefined : traceparentOf(this.trace);
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
