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

/**
 * The shape of an orchestrator's tasks, for typing `run`: one worker module
 * (`Orchestrator<typeof import('./worker.js')>`), or several, by the names given in `workers`
 * (`Orchestrator<{ text: typeof import('./text.js'); image: typeof import('./image.js') }>`).
 */
export type TaskMap = Record<string, unknown>;

/** The export names of module type `T` that are tasks. */
type TaskExports<T> = {
  [K in keyof T]: T[K] extends Task<never, unknown> ? K : never;
}[keyof T] &
  string;

/**
 * Whether `M` maps module names to modules (the `workers` form) rather than being one module:
 * none of its values is a task.
 */
export type IsModuleMap<M> = string extends keyof M
  ? false
  : [TaskExports<M>] extends [never]
    ? [keyof M] extends [never]
      ? false
      : true
    : false;

/**
 * The task names of `M`: a module's task exports, or for several modules `module.task` for each
 * module's task exports.
 */
export type TaskName<M extends TaskMap> = string extends keyof M
  ? string
  : IsModuleMap<M> extends true
    ? { [K in keyof M & string]: `${K}.${TaskExports<M[K]>}` }[keyof M & string]
    : TaskExports<M>;

/** The task that name `K` denotes in `M` (`module.task` looks inside the module). */
type TaskAt<M extends TaskMap, K extends string> = K extends keyof M
  ? M[K]
  : K extends `${infer Module}.${infer Name}`
    ? Module extends keyof M
      ? Name extends keyof M[Module]
        ? M[Module][Name]
        : unknown
      : unknown
    : unknown;

/** The input type of task `K`. */
export type TaskInput<M extends TaskMap, K extends string> =
  TaskAt<M, K> extends Task<infer I, unknown> ? I : unknown;

/** The resolved output type of task `K`. */
export type TaskOutput<M extends TaskMap, K extends string> =
  TaskAt<M, K> extends Task<never, infer O> ? Output<Awaited<O>> : unknown;
