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
  /** Marks a run that needs the GPU; its queue time counts as GPU wait. @default false */
  gpu?: boolean | undefined;
  /**
   * `false` bypasses the result cache for this run: it runs, and its result is not kept. Only
   * matters for a cached task (see the README's "Result caching"). @default true
   */
  cache?: boolean | undefined;
}

/** What a function started with {@link Orchestrator.go} receives. */
export interface GoContext<M extends TaskMap = TaskMap> {
  /** The name given to `go`. */
  readonly name: string;
  /** Aborted when the orchestrator's root group fails or the orchestrator closes. */
  readonly signal: AbortSignal;
  /** `orchestrator.run`, cancelled with ERR_ABORTED if the root group fails. */
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
