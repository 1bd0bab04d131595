/**
 * The typed thread protocol: every payload that crosses between the main thread and a task
 * worker. Both sides import this module, so a change here is a change of both.
 * @module
 */
import type { ItemOutcomes } from './item-outcomes.js';
import type { MessagePort } from 'node:worker_threads';
import type { WorkerCacheOptions } from '../cache/options.js';
import type { MetricSpec } from '../task-metrics/declaration.js';

/** A worker module a runner loads. */
export interface WorkerModuleRef {
  /**
   * Its name in the orchestrator's `workers` option: its tasks are then called `name.export`.
   * Undefined for the one module of the `worker` option, whose tasks keep their export names.
   */
  readonly name: string | undefined;
  /** Its file URL. */
  readonly url: string;
}

/** The `workerData` every runner thread starts with. */
export interface RunnerData {
  /** The user's worker modules; the runner loads them all before it says hello. */
  readonly modules: readonly WorkerModuleRef[];
  /** The pool's idle timeout: a thread flushes its tracer provider well before it can retire. */
  readonly idleTimeoutMs: number;
  /**
   * One Int32 the main thread bumps after posting aborts. A runner polls its control port only
   * when the counter moved, so checking for cancellation costs one atomic load.
   */
  readonly abortEpoch: SharedArrayBuffer;
  /** How many nice steps below the process the thread runs (see `threadNice`). */
  readonly threadNice: number;
}

/**
 * One task, as the runner receives it. On the main thread the pool fills these fields in at the
 * moment a thread takes the task (see src/pool/thread-pool.ts), so they are not readonly.
 */
export interface TaskRequest {
  /** Unique per orchestrator; aborts name it. */
  id: number;
  /** The export to call. */
  task: string;
  /** The input; for a batch, the array of item inputs. */
  input: unknown;
  /** Set for a batch: `input` is an array, and the answer's value is a {@link BatchResult}. */
  batch: BatchRequest | undefined;
  /** The run's trace context, when the orchestrator traces (for a map batch, the batch's). */
  trace: TraceCarrier | undefined;
}

/**
 * A span's context as it crosses into the worker: the task runs in it, and spans the task starts
 * are its children. Plain data, so it survives structured clone.
 */
export interface TraceCarrier {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  /** The W3C `tracestate`, serialized. */
  readonly traceState: string | undefined;
  /** The caller's baggage entries (key, value). */
  readonly baggage: readonly (readonly [string, string])[] | undefined;
}

/** What a batch carries besides its inputs. */
export interface BatchRequest {
  /**
   * One shared Int32 the runner sets to the index of the item it is starting. After a crash it
   * tells the main thread which items never started (and are safe to run again).
   */
  readonly progress: Int32Array;
  /**
   * For a batch with items that can be cancelled one by one: item `i` answers to abort id
   * `firstItemId + i` (besides the batch's own id, which stops them all)...
   */
  readonly firstItemId: number | undefined;
  /**
   * ...if `cancellable[i]` is 1. Before such an item starts, the results finished so far leave:
   * should it ignore its cancel and lose its thread, they are not lost with it.
   */
  readonly cancellable: Uint8Array | undefined;
  /**
   * Indices of items whose input is the very object of an earlier item (a generator that
   * yields one object again and again). One message clones a batch as one graph, so those
   * items would share one copy; the runner gives each its own before any item runs.
   */
  readonly aliases: Int32Array | undefined;
  /**
   * Set for fused pipeline stages: the tasks each item goes through, in order, inside this
   * thread (each stage's output is the next one's input, with no copy). The answer then carries
   * the time spent in each stage.
   */
  readonly chain?: readonly string[] | undefined;
  /**
   * Coalesced runs each have their own span: item `i` runs in context `traces[i]` (else in the
   * request's). Undefined when no item has one.
   */
  readonly traces: readonly (TraceCarrier | undefined)[] | undefined;
}

/**
 * The value of a batch's answer: the outcomes of items `from` onwards, in order. Items before
 * `from` were already sent as {@link BatchChunk}s.
 */
export interface BatchResult {
  readonly from: number;
  readonly outcomes: ItemOutcomes;
  /** For a chain: ms spent in each stage, summed over the batch's items. */
  readonly stageMs?: readonly number[] | undefined;
}

/**
 * Runner → main thread, over the control port, while a batch runs: outcomes of items `from`
 * onwards that have finished. Sent as items finish (in small chunks), so that their callers get
 * them at once and a crash later in the batch loses none of them.
 */
export interface BatchChunk {
  /** The batch's request id. */
  readonly chunk: number;
  readonly from: number;
  readonly outcomes: ItemOutcomes;
  /** The task metrics recorded by these items (and earlier work of the thread not yet sent). */
  readonly metrics?: MetricsDelta | undefined;
}

/**
 * One series of a task metric: what its thread recorded since it last sent it
 * (src/task-metrics/recorder.ts). The main thread adds it to the metric's series.
 */
export interface MetricSample {
  /** The metric's declared name. */
  readonly name: string;
  /** The label values, in the order of the declaration's (sorted) `labelNames`; `''` for none. */
  readonly labels: readonly string[];
  /** Counter: the increments' sum. Gauge: the increments' sum since `set`. Histogram: the observations' sum. */
  readonly value: number;
  /** Gauge: the last value set, if one was. */
  readonly set?: number | undefined;
  /** Histogram: observations per bucket; the last counts those above every bound. */
  readonly counts?: readonly number[] | undefined;
}

/** Task-metric samples that travel with an answer or a chunk: never one message per observation. */
export type MetricsDelta = readonly MetricSample[];

/** An error thrown by a task, flattened so it survives structured clone. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** The thrown error's own `code`, when it was a string. */
  readonly code: string | undefined;
  /**
   * Set when the runner itself failed the task: `unknown-task`, the module has no such export
   * (the task never ran); `data-clone`, the task's result cannot be structured-cloned;
   * `metric-conflict`, the task declares a metric unlike another task does (it never ran).
   */
  readonly kind?: 'unknown-task' | 'data-clone' | 'metric-conflict';
  /** The module's task exports, with `kind: 'unknown-task'`. */
  readonly exports?: readonly string[];
  /** The thrown value's other enumerable own properties, those that survive structured clone. */
  readonly props?: Readonly<Record<string, unknown>>;
}

/**
 * The runner's answer. A task's own throw comes back as a value (`error`), so that Piscina's
 * rejection means only an infrastructure failure (a worker that died or was terminated).
 */
export type TaskResponse = (
  | { readonly value: unknown; readonly error?: undefined; readonly durationMs: number }
  | { readonly value?: undefined; readonly error: SerializedError; readonly durationMs: number }
) & {
  /** The task metrics the thread recorded up to this answer and had not sent yet. */
  readonly metrics?: MetricsDelta | undefined;
  /**
   * The thread's metric declarations (as in its hello), with the first answer that carries
   * metrics: answers travel on another port than the hello and may overtake it.
   */
  readonly declared?: ControlPortHello['metrics'] | undefined;
};

/** Sent by a runner once at start-up, through its parentPort (Piscina re-emits it on the pool). */
export interface ControlPortHello {
  readonly [kControlHello]: true;
  /** The main thread posts {@link ControlMessage}s here; the runner posts {@link BatchChunk}s. */
  readonly port: MessagePort;
  /** The thread's id (`worker_threads.threadId`), as the pool knows it. */
  readonly threadId: number;
  /** The module's task export names. */
  readonly tasks: readonly string[];
  /** The module's tasks marked idempotent (safe to run again after a crash). */
  readonly idempotent: readonly string[];
  /** The module's `defineTask(fn, { cache })` declarations, by task. */
  readonly cache: Readonly<Record<string, WorkerCacheOptions>>;
  /** The task metrics each task declares (`defineTask(fn, { metrics })`), by task; tasks without any left out. */
  readonly metrics: Readonly<Record<string, Readonly<Record<string, MetricSpec>>>>;
}

/**
 * Main thread → runner, over the control port: stop task `abort`; or flush the tracer providers
 * registered in the thread and answer with a {@link FlushedMessage} (before close() ends the
 * thread).
 */
export type ControlMessage = { readonly abort: number } | { readonly flush: number };

/** Runner → main thread, over the control port: the flush `flushed` is done. */
export interface FlushedMessage {
  readonly flushed: number;
}

/** Marks the hello message; a string key because symbols do not survive structured clone. */
export const kControlHello = 'node-orchestrator.control-port';

/** The brand `defineTask` puts on task functions (shared across package copies). */
export const kTaskBrand: unique symbol = Symbol.for('node-orchestrator.task') as never;

/** The brand `transfer()` puts on results whose buffers should move, not copy. */
export const kTransferBrand: unique symbol = Symbol.for('node-orchestrator.transfer') as never;

/** The brand `defineTask(fn, { idempotent: true })` adds. */
export const kIdempotentBrand: unique symbol = Symbol.for('node-orchestrator.idempotent') as never;

/** The brand `defineTask(fn, { cache })` adds; its value is the declared settings. */
export const kCacheBrand: unique symbol = Symbol.for('node-orchestrator.cache') as never;
/** The brand `defineTask(fn, { metrics })` adds; its value is the checked declarations. */
export const kMetricsBrand: unique symbol = Symbol.for('node-orchestrator.metrics') as never;

/** True if a message from a worker is a {@link ControlPortHello}. */
export function isControlPortHello(message: unknown): message is ControlPortHello {
  return typeof message === 'object' && message !== null && kControlHello in message;
}

/** A reserved task name: the runner answers with the module's task names. */
export const LIST_TASKS = '\u0000tasks';
