import type { Transferable } from 'node:worker_threads';
import type { Output, Task } from '../worker/define-task.js';

/** Options of {@link Orchestrator.run}. */
export interface RunOptions {
  /** Aborting it cancels the run: a queued run leaves the queue, a running one is told to stop. */
  signal?: AbortSignal | undefined;
  /** Higher numbers are admitted first. @default 0 */
  priority?: number | undefined;
  /**
   * A deadline counted from submission (queue time included); the run then rejects with
   * ERR_TASK_TIMEOUT. Any number of milliseconds, or Infinity for none.
   */
  timeoutMs?: number | undefined;
  /** ArrayBuffers (or typed arrays, or MessagePorts) in the input to move to the worker instead of copying. */
  transferList?: readonly (Transferable | ArrayBufferView)[] | undefined;
  /**
   * Marks a run that needs the GPU: its queue time counts as GPU wait, and with a `gpu` resource
   * declared it is short for `needs: { gpu: 1 }`. @default false
   */
  gpu?: boolean | undefined;
  /**
   * The tenant the run counts for: tenants share the slots in proportion to their weights, and
   * each has its own maxInFlight and maxQueue (the `tenants` option). @default 'default'
   */
  tenant?: string | undefined;
  /**
   * Units of declared resources (the `resources` option) the run holds while it runs, on top of
   * its slot, e.g. `{ gpu: 1 }`. It waits for them without holding a slot. An undeclared
   * resource, or more units than declared, is a RangeError.
   */
  needs?: Readonly<Record<string, number>> | undefined;
}

/** Options of {@link Orchestrator.go}: defaults for the `ctx.run` calls of the function. */
export interface GoOptions {
  /** The tenant every `ctx.run` counts for, unless the call names its own. @default 'default' */
  tenant?: string | undefined;
  /** Resource units every `ctx.run` holds while it runs, unless the call gives its own `needs`. */
  needs?: Readonly<Record<string, number>> | undefined;
}

/** What a function started with {@link Orchestrator.go} receives. */
export interface GoContext<M extends TaskMap = TaskMap> {
  /** The name given to `go`. */
  readonly name: string;
  /** Aborted when the orchestrator's root group fails or the orchestrator closes. */
  readonly signal: AbortSignal;
  /**
   * `orchestrator.run`, cancelled with ERR_ABORTED if the root group fails; it runs for the
   * tenant (and with the `needs`) given to `go`, unless its options name their own.
   */
  run<K extends TaskName<M>>(
    task: K,
    input: TaskInput<M, K>,
    options?: RunOptions,
  ): Promise<TaskOutput<M, K>>;
}

/** The shape of a worker module's tasks, for typing `run`: e.g. `Orchestrator<typeof import('./worker.js')>`. */
export type TaskMap = Record<string, unknown>;

/** The export names of a worker module that are tasks. */
export type TaskName<M extends TaskMap> = string extends keyof M
  ? string
  : {
      [K in keyof M]: M[K] extends Task<never, unknown> ? K : never;
    }[keyof M] &
      string;

/** The input type of task `K`. */
export type TaskInput<M extends TaskMap, K extends keyof M> =
  M[K] extends Task<infer I, unknown> ? I : unknown;

/** The resolved output type of task `K`. */
export type TaskOutput<M extends TaskMap, K extends keyof M> =
  M[K] extends Task<never, infer O> ? Output<Awaited<O>> : unknown;
