/**
 * The typed thread protocol: every payload that crosses between the main thread and a task
 * worker. Both sides import this module, so a change here is a change of both.
 * @internal
 * @module
 */
import type { MessagePort } from 'node:worker_threads';

/** The `workerData` every runner thread starts with. */
export interface RunnerData {
  /** File URL of the user's worker module. */
  readonly module: string;
  /**
   * One Int32 the main thread bumps after posting aborts. A runner polls its control port only
   * when the counter moved, so checking for cancellation costs one atomic load.
   */
  readonly abortEpoch: SharedArrayBuffer;
}

/** One task, as Piscina hands it to the runner. */
export interface TaskRequest {
  /** Unique per orchestrator; aborts name it. */
  readonly id: number;
  /** The export to call. */
  readonly task: string;
  /** The input; for a batch, the array of item inputs. */
  readonly input: unknown;
  /** Set for a batch: `input` is an array, and the answer's value is a {@link BatchResult}. */
  readonly batch?: true;
}

/** One item's outcome in a batch. */
export type ItemOutcome =
  { readonly value: unknown } | { readonly error: SerializedError } | { readonly skipped: true };

/** The value of a batch's answer: one outcome per item, in order. */
export interface BatchResult {
  readonly items: readonly ItemOutcome[];
}

/** An error thrown by a task, flattened so it survives structured clone. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** The thrown error's own `code`, when it was a string. */
  readonly code: string | undefined;
  /** Set when the runner itself refused the task (unknown export); the task never ran. */
  readonly kind?: 'unknown-task';
  /** The module's task exports, with `kind: 'unknown-task'`. */
  readonly exports?: readonly string[];
}

/**
 * The runner's answer. A task's own throw comes back as a value (`error`), so that Piscina's
 * rejection means only an infrastructure failure (a worker that died or was terminated).
 */
export type TaskResponse =
  | { readonly value: unknown; readonly error?: undefined; readonly durationMs: number }
  | { readonly value?: undefined; readonly error: SerializedError; readonly durationMs: number };

/** Sent by a runner once at start-up, through its parentPort (Piscina re-emits it on the pool). */
export interface ControlPortHello {
  readonly [kControlHello]: true;
  /** The main thread posts {@link ControlMessage}s here. */
  readonly port: MessagePort;
}

/** Main thread → runner, over the control port: stop task `abort`. */
export interface ControlMessage {
  readonly abort: number;
}

/** Marks the hello message; a string key because symbols do not survive structured clone. */
export const kControlHello = 'node-orchestrator.control-port';

/** The brand `defineTask` puts on task functions (shared across package copies). */
export const kTaskBrand: unique symbol = Symbol.for('node-orchestrator.task') as never;

/** The brand `transfer()` puts on results whose buffers should move, not copy. */
export const kTransferBrand: unique symbol = Symbol.for('node-orchestrator.transfer') as never;

/** True if a message from a worker is a {@link ControlPortHello}. */
export function isControlPortHello(message: unknown): message is ControlPortHello {
  return typeof message === 'object' && message !== null && kControlHello in message;
}

/** A reserved task name: the runner answers with the module's task names. */
export const LIST_TASKS = '\u0000tasks';
