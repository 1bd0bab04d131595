import { assertFinite, assertOptionalSignal, describe } from '../internal/validate.js';
import type { TaskMap, TaskName, TaskOutput } from '../orchestrator/task-types.js';
import { runPipeline, type PipelineRecord, type RunSettings, type StageSpec } from './run.js';
import type { PipelineHost } from './segments.js';

/** Options of `orchestrator.pipeline`. */
export interface PipelineOptions {
  /** Yield records in input order (buffering at most the pipeline's window). @default false */
  ordered?: boolean | undefined;
  /** Aborting it cancels the pipeline: running batches stop, and iteration rejects with the reason. */
  signal?: AbortSignal | undefined;
  /** Priority of the pipeline's batches in the limiter. @default 0 */
  priority?: number | undefined;
  /**
   * Run consecutive map stages fused, in one batch inside one thread (no trip to the main
   * thread and no copy between them). `false` runs each stage as its own batches, the results
   * passing through the main thread: the same records, slower. @default true
   */
  fuse?: boolean | undefined;
}

/** Options of a pipeline's `map` stage. */
export interface PipelineMapOptions {
  /**
   * The most batches of this stage in flight at once (fused stages take the smallest limit of
   * theirs). Every batch also passes the orchestrator's adaptive limiter, which all stages
   * share. @default the map window: 2 × the orchestrator's limit + 2
   */
  limit?: number | undefined;
  /** The most items per batch; batches aim at about a millisecond of work. @default 512 */
  batchSize?: number | undefined;
}

/**
 * A chain of stages over a source of inputs, run on the orchestrator's pool: `map` stages run a
 * task of the worker module (consecutive ones fused inside one thread), `filter` and `batch`
 * run on the main thread. Each method returns a new pipeline with the stage added; iterating it
 * (once) runs it and yields {@link PipelineRecord}s with `map`'s per-item semantics: one record
 * per input that no filter drops and no batch merges, a failed item's error with the stage that
 * failed (later stages never see it), input order with `ordered`, backpressure to the source,
 * cancellation by `signal` or by leaving the loop, and `close()` stopping it as it stops a map.
 *
 * @example
 * ```ts
 * const records = orchestrator
 *   .pipeline(readImages(dir), { ordered: true })
 *   .map('decode')
 *   .map('resize')
 *   .filter((image) => image.width > 0)
 *   .map('normalize');
 * for await (const record of records) {
 *   if (record.ok) save(record.value); else console.error(record.index, record.stage.name, record.error);
 * }
 * ```
 */
export class Pipeline<T = unknown, M extends TaskMap = TaskMap> implements AsyncIterable<PipelineRecord<T>> {
  readonly #host: PipelineHost;
  readonly #source: Iterable<unknown> | AsyncIterable<unknown>;
  readonly #settings: RunSettings;
  readonly #stages: readonly StageSpec[];
  /** Shared by a pipeline and every one built from it: the source can be read once. */
  readonly #run: { started: boolean };

  /** @internal */
  constructor(
    host: PipelineHost,
    source: Iterable<unknown> | AsyncIterable<unknown>,
    settings: RunSettings,
    stages: readonly StageSpec[] = [],
    run = { started: false },
  ) {
    this.#host = host;
    this.#source = source;
    this.#settings = settings;
    this.#stages = stages;
    this.#run = run;
  }

  /**
   * Adds a stage that runs `task` on each item.
   * @throws TypeError or RangeError for a bad task name or option, naming it and the value.
   */
  map<K extends TaskName<M>>(task: K, options?: PipelineMapOptions): Pipeline<TaskOutput<M, K>, M>;
  map(task: string, options: PipelineMapOptions = {}): Pipeline<unknown, M> {
    if (typeof task !== 'string' || task.length === 0)
      throw new TypeError(`task must be a non-empty string, got ${describe(task)}`);
    const { limit = Number.POSITIVE_INFINITY, batchSize = 512 } = options;
    if (!(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 1)))
      throw new RangeError(`limit must be an integer >= 1, got ${describe(limit)}`);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`batchSize must be an integer >= 1, got ${describe(batchSize)}`);
    return this.#with({ kind: 'map', task, limit, batchSize });
  }

  /**
   * Adds a stage on the main thread that keeps the items for which `fn` returns (or resolves
   * to) a truthy value; the others yield no record. A throw or rejection fails that item.
   * @throws TypeError if `fn` is not a function.
   */
  filter(fn: (value: T, index: number) => unknown): Pipeline<T, M> {
    if (typeof fn !== 'function') throw new TypeError(`fn must be a function, got ${describe(fn)}`);
    return this.#with({ kind: 'filter', fn: fn as (value: unknown, index: number) => unknown });
  }

  /**
   * Adds a stage that collects `size` items into one: an array of their values (the last may
   * be shorter), whose record carries the index of its first item; the others yield no record.
   * Ordered, items are collected in input order; otherwise as they arrive.
   * @throws RangeError if `size` is not an integer >= 1.
   */
  batch(size: number): Pipeline<T[], M> {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1)
      throw new RangeError(`size must be an integer >= 1, got ${describe(size)}`);
    return this.#with({ kind: 'batch', size });
  }

  /**
   * Runs the pipeline. A pipeline (and every pipeline built from the same `pipeline()` call)
   * runs once: its source is read once.
   */
  [Symbol.asyncIterator](): AsyncGenerator<PipelineRecord<T>, void, undefined> {
    if (this.#run.started) throw new TypeError('This pipeline has already run: its source can be read once');
    this.#run.started = true;
    return runPipeline(this.#host, this.#source, this.#stages, this.#settings) as AsyncGenerator<
      PipelineRecord<T>,
      void,
      undefined
    >;
  }

  #with(stage: StageSpec): Pipeline<never, M> {
    return new Pipeline(this.#host, this.#source, this.#settings, [...this.#stages, stage], this.#run);
  }
}

/**
 * Checks `pipeline()`'s arguments.
 * @throws TypeError or RangeError naming the bad field and its value.
 * @internal
 */
export function pipelineSettings(source: unknown, options: PipelineOptions): RunSettings {
  const iterable =
    typeof source === 'object' &&
    source !== null &&
    (Symbol.iterator in source || Symbol.asyncIterator in source);
  if (!iterable) throw new TypeError(`source must be an iterable or async iterable, got ${describe(source)}`);
  if (typeof options !== 'object' || (options as unknown) === null)
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  const { ordered = false, signal, priority = 0, fuse = true } = options;
  if (typeof ordered !== 'boolean')
    throw new TypeError(`ordered must be a boolean, got ${describe(ordered)}`);
  if (typeof fuse !== 'boolean') throw new TypeError(`fuse must be a boolean, got ${describe(fuse)}`);
  assertOptionalSignal('signal', signal);
  assertFinite('priority', priority);
  return { ordered, signal, priority, fuse };
}
