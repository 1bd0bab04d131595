import { TaskFailedError, WorkerCrashedError } from '../errors.js';
import { assertFinite, assertOptionalSignal, describe } from '../internal/validate.js';
import type { BatchResult, ItemOutcome } from '../pool/protocol.js';
import { reviveTaskError } from './revive-error.js';

/** Options of `orchestrator.map`. */
export interface MapOptions {
  /** Yield results in input order (buffering at most a window of batches). @default false */
  ordered?: boolean | undefined;
  /** The most items per batch; batches aim at about a millisecond of work each. @default 512 */
  batchSize?: number | undefined;
  /** Aborting it cancels the whole map: running batches stop, and iteration rejects with the reason. */
  signal?: AbortSignal | undefined;
  /** Priority of the map's batches in the limiter. @default 0 */
  priority?: number | undefined;
  /** Stop at the first failed item and reject with its error. @default false */
  failFast?: boolean | undefined;
}

/** One result of `map`: the input's index and its value or error. */
export type MapRecord<O = unknown> =
  | { readonly index: number; readonly ok: true; readonly value: O }
  | { readonly index: number; readonly ok: false; readonly error: Error };

/** What `map` needs from its orchestrator. @internal */
export interface MapHost {
  readonly limit: number;
  submitBatch(
    task: string,
    items: unknown[],
    signal: AbortSignal,
    priority: number,
  ): Promise<{ result: BatchResult; workerMs: number; waitMs: number }>;
  recordItems(
    task: string,
    outcomes: readonly ('success' | 'error')[],
    errors: readonly (Error | undefined)[],
    workerMs: number,
    waitMs: number,
  ): void;
  recordBatch(size: number): void;
}

/** Work per batch that batching aims for, in ms of worker time. */
const TARGET_BATCH_MS = 1;

interface BatchDone {
  readonly seq: number;
  readonly records: MapRecord[];
}

/**
 * The engine of `orchestrator.map`: pulls inputs lazily, sends them in batches sized to about a
 * millisecond of work, keeps a bounded window of batches in flight (two per running slot, so a
 * thread always has its next batch staged), and yields one record per input.
 *
 * Backpressure comes from the generator itself: inputs are pulled only while the consumer asks
 * for results, never more than the window ahead. Leaving the loop early, or the signal aborting,
 * cancels the batches in flight and waits for them before the iteration ends.
 * @internal
 */
export async function* mapTasks(
  host: MapHost,
  task: string,
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
  options: MapOptions = {},
): AsyncGenerator<MapRecord, void, undefined> {
  const { ordered = false, batchSize = 512, signal, priority = 0, failFast = false } = options;
  checkMap(task, inputs, batchSize, signal, priority);
  signal?.throwIfAborted();
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const source = openSource(inputs);
  const inFlight = new Map<number, Promise<BatchDone>>();
  const pending = new Map<number, MapRecord>();
  let perItemMs: number | undefined;
  let nextIndex = 0;
  let nextToYield = 0;
  let seq = 0;
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && inFlight.size < 2 * host.limit + 2) {
        const size =
          perItemMs === undefined
            ? 1
            : Math.max(1, Math.min(batchSize, Math.round(TARGET_BATCH_MS / perItemMs)));
        const items: unknown[] = [];
        while (items.length < size) {
          let next = source.next();
          if (next instanceof Promise) next = await next;
          if (next.done === true) {
            exhausted = true;
            break;
          }
          items.push(next.value);
        }
        if (items.length === 0) break;
        const id = seq++;
        const first = nextIndex;
        nextIndex += items.length;
        inFlight.set(
          id,
          runBatch(host, task, items, first, controller.signal, priority).then((done) => {
            if (done.perItemMs !== undefined)
              perItemMs = perItemMs === undefined ? done.perItemMs : 0.7 * perItemMs + 0.3 * done.perItemMs;
            return { seq: id, records: done.records };
          }),
        );
      }
      if (inFlight.size === 0) break;
      const done = await Promise.race(inFlight.values());
      inFlight.delete(done.seq);
      if (signal?.aborted === true) throw signal.reason;
      for (const record of done.records) {
        if (failFast && !record.ok) throw record.error;
        if (!ordered) yield record;
        else pending.set(record.index, record);
      }
      for (let record = pending.get(nextToYield); record !== undefined; record = pending.get(nextToYield)) {
        pending.delete(nextToYield++);
        yield record;
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (inFlight.size > 0) {
      controller.abort(signal?.reason);
      await Promise.allSettled(inFlight.values());
    }
    await source.return();
  }
}

async function runBatch(
  host: MapHost,
  task: string,
  items: unknown[],
  first: number,
  signal: AbortSignal,
  priority: number,
): Promise<{ records: MapRecord[]; perItemMs: number | undefined }> {
  host.recordBatch(items.length);
  try {
    const { result, workerMs, waitMs } = await host.submitBatch(task, items, signal, priority);
    const records = result.items.map((outcome, i) => toRecord(task, first + i, outcome));
    const outcomes = records.map((r): 'success' | 'error' => (r.ok ? 'success' : 'error'));
    host.recordItems(
      task,
      outcomes,
      records.map((r) => (r.ok ? undefined : r.error)),
      workerMs / items.length,
      waitMs,
    );
    return { records, perItemMs: workerMs / items.length };
  } catch (error) {
    // The batch failed as a whole (its thread crashed, or the map was cancelled): every item fails.
    const reason = error instanceof Error ? error : new WorkerCrashedError(String(error));
    return {
      records: items.map((_, i) => ({ index: first + i, ok: false, error: reason })),
      perItemMs: undefined,
    };
  }
}

function toRecord(task: string, index: number, outcome: ItemOutcome): MapRecord {
  if ('value' in outcome) return { index, ok: true, value: outcome.value };
  if ('error' in outcome) return { index, ok: false, error: reviveTaskError(task, outcome.error) };
  return { index, ok: false, error: new TaskFailedError(`Item ${index} was skipped: the map was cancelled`) };
}

interface Source {
  next(): IteratorResult<unknown> | Promise<IteratorResult<unknown>>;
  return(): Promise<void>;
}

function openSource(inputs: Iterable<unknown> | AsyncIterable<unknown>): Source {
  if (Symbol.asyncIterator in inputs) {
    const iterator = inputs[Symbol.asyncIterator]();
    return {
      next: () => iterator.next(),
      return: async () => {
        await iterator.return?.();
      },
    };
  }
  // A synchronous source is pulled synchronously: no promise per item.
  const iterator = inputs[Symbol.iterator]();
  return {
    next: () => iterator.next(),
    return: () => {
      iterator.return?.();
      return Promise.resolve();
    },
  };
}

function checkMap(
  task: unknown,
  inputs: unknown,
  batchSize: unknown,
  signal: unknown,
  priority: unknown,
): void {
  if (typeof task !== 'string' || task.length === 0)
    throw new TypeError(`task must be a non-empty string, got ${describe(task)}`);
  const iterable =
    typeof inputs === 'object' &&
    inputs !== null &&
    (Symbol.iterator in inputs || Symbol.asyncIterator in inputs);
  if (!iterable) throw new TypeError(`inputs must be an iterable or async iterable, got ${describe(inputs)}`);
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be an integer >= 1, got ${describe(batchSize)}`);
  }
  assertOptionalSignal('signal', signal);
  assertFinite('priority', priority);
}
