import { ClosedError } from '../errors.js';
import { assertFinite, assertOptionalSignal, describe } from '../internal/validate.js';
import { movingAverage } from '../internal/moving-average.js';
import { checkTenant } from '../scheduler/options.js';
import type { BatchTraceFactory } from '../tracing/run-trace.js';
import { Batch, BatchItem, type BatchHost, type ItemHost, type ItemResult } from './batch.js';
import { nextBatchSize } from './batch-size.js';
import type { Lifecycle, Producer } from './lifecycle.js';
import { RecordFlow } from './record-flow.js';
import { Source } from './source.js';

/** Options of `orchestrator.map`. */
export interface MapOptions<I = unknown> {
  /** Yield results in input order (buffering at most a window of batches). @default false */
  ordered?: boolean | undefined;
  /** The most items per batch; batches aim at about 8 ms of work each. @default 512 */
  batchSize?: number | undefined;
  /** Aborting it cancels the whole map: running batches stop, and iteration rejects with the reason. */
  signal?: AbortSignal | undefined;
  /** Priority of the map's batches. @default 0 */
  priority?: number | undefined;
  /** The tenant the map's batches count for (each batch is one start of that tenant). @default 'default' */
  tenant?: string | undefined;
  /** Resource units each batch holds while it runs (see the `resources` option). */
  needs?: Readonly<Record<string, number>> | undefined;
  /** Stop at the first failed item and reject with its error. @default false */
  failFast?: boolean | undefined;
  /**
   * Gives an item its own signal. Aborting it cancels that item alone: skipped if it has not
   * started, told to stop (`ctx.throwIfAborted()`) if it is running; its record is an error with
   * the signal's reason. Called once per item as it is pulled.
   */
  itemSignal?: ((input: I, index: number) => AbortSignal | undefined) | undefined;
}

/** One result of `map`: the input's index and its value or error. */
export type MapRecord<O = unknown> =
  | { readonly index: number; readonly ok: true; readonly value: O }
  | { readonly index: number; readonly ok: false; readonly error: Error };

/** What `map` needs from its orchestrator. @internal */
export interface MapHost extends BatchHost, ItemHost {
  /** The running limit: it sets the window of batches in flight. */
  readonly limit: number;
  /** The map registers with it while it runs, so that close() stops and awaits it. */
  readonly lifecycle: Lifecycle;
  /** Checks `needs` against the declared resources (throws a TypeError or RangeError). */
  checkNeeds(needs: unknown): void;
}

/**
 * The engine of `orchestrator.map`: pulls inputs lazily, sends them in batches sized to about
 * 8 ms of work (smaller at the end of an array), keeps a bounded window of batches in flight
 * (two per running slot, so a thread that finishes a batch finds the next one already cut and
 * queued), and yields one record per input as soon as it is ready (in input order with
 * `ordered`).
 *
 * Backpressure comes from the window: inputs are pulled only while fewer than the window's
 * batches are in flight (and, ordered, buffered). An async source that stalls does not hold
 * back results already in, and a batch does not wait for a stalled source to fill: it leaves
 * with what it has. Leaving the loop early, or the signal aborting, cancels the batches in
 * flight and waits for them before the iteration ends.
 *
 * The map is a producer of the orchestrator's lifecycle: once close() is called it pulls no
 * more input (a pull in progress is abandoned: its items end ERR_CLOSED), lets its batches in
 * flight finish until the close deadline cancels them (ERR_ABORTED), yields every record, and
 * then rejects with ERR_CLOSED if the source had more.
 *
 * With `trace`, each batch gets a span (a child of the context `map()` was called in).
 * @internal
 */
export async function* mapTasks(
  host: MapHost,
  task: string,
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
  options: MapOptions = {},
  trace?: BatchTraceFactory,
): AsyncGenerator<MapRecord, void, undefined> {
  const { ordered = false, batchSize = 512, signal, priority = 0, failFast = false, itemSignal } = options;
  const { tenant, needs } = options;
  checkMap(task, inputs, batchSize, signal, priority, itemSignal);
  checkTenant(tenant);
  host.checkNeeds(needs);
  signal?.throwIfAborted();
  if (!host.lifecycle.accepting)
    throw new ClosedError(`The orchestrator is closed; map("${task}") was refused`);
  const controller = new AbortController();
  const onAbort = (): void => {
    controller.abort(signal?.reason);
    flow.wake();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const flow = new RecordFlow<MapRecord>(ordered);
  const source = new Source(inputs);
  /** Inputs not pulled yet, known for an array (it sizes the last batches). */
  let remaining = Array.isArray(inputs) ? inputs.length : undefined;
  let perItemMs: number | undefined;
  let inFlight = 0;
  let sourceError: { error: unknown } | undefined;
  /** Set once close() was called: no more pulls, no more batches. */
  const state = { closing: false };
  const producer: Producer = {
    closing: () => {
      state.closing = true;
      flow.wake();
    },
    cancel: (reason) => {
      controller.abort(reason);
      flow.wake();
    },
    get idle() {
      return inFlight === 0;
    },
    waitAfterCancel: true,
  };

  const launch = (values: readonly unknown[]): void => {
    if (values.length === 0) return;
    const first = flow.reserve(values.length);
    if (state.closing) {
      const error = new ClosedError(`The orchestrator closed before item ${first} of map("${task}") started`);
      values.forEach((_, i) => flow.put({ index: first + i, ok: false, error }));
      return;
    }
    let open = values.length;
    let workerMs = 0;
    const onSettle = (index: number, result: ItemResult, ms: number | undefined): void => {
      flow.put(toRecord(index, result));
      workerMs += ms ?? 0;
      if (--open > 0 || workerMs === 0) return;
      const sample = workerMs / values.length;
      perItemMs = movingAverage(perItemMs, sample, 0.3);
    };
    const items = values.map((input, i) => {
      const index = first + i;
      const own = itemSignal?.(input, index);
      const item = new BatchItem(host, task, input, undefined, own !== undefined, (result, ms) =>
        onSettle(index, result, ms),
      );
      item.tenant = tenant;
      item.mapIndex = index;
      if (own !== undefined) item.follow([own]);
      return item;
    });
    const live = items.filter((item) => !item.settled);
    if (live.length > 0)
      new Batch(host, task, live, { signal: controller.signal, priority, tracker, tenant, needs, trace });
  };
  /** Batches in the pool; the window bounds them, and the map ends when none is left. */
  const tracker = {
    opened: (): void => {
      inFlight++;
    },
    closed: (): void => {
      inFlight--;
      flow.wake();
      if (inFlight === 0) host.lifecycle.changed();
    },
  };

  const windowOpen = (): boolean => {
    const window = 2 * host.limit + 2;
    return inFlight < window && flow.buffered < window * nextSize();
  };
  const nextSize = (): number => nextBatchSize({ perItemMs, batchSize, remaining, limit: host.limit });

  const fill = (): void => {
    while (
      !source.exhausted &&
      !source.pulling &&
      windowOpen() &&
      !controller.signal.aborted &&
      !state.closing
    ) {
      const pulled = source.pull(nextSize());
      if (!(pulled instanceof Promise)) {
        if (remaining !== undefined) remaining = Math.max(0, remaining - pulled.length);
        launch(pulled);
        continue;
      }
      pulled.then(
        (values) => {
          if (!controller.signal.aborted || state.closing) launch(values);
          flow.wake();
        },
        (error: unknown) => {
          sourceError = { error };
          flow.wake();
        },
      );
    }
  };

  host.lifecycle.register(producer);
  try {
    for (;;) {
      fill();
      for (let record = flow.take(); record !== undefined; record = flow.take()) {
        if (failFast && !record.ok) throw record.error;
        yield record;
        fill();
      }
      if (signal?.aborted === true) throw signal.reason;
      if (sourceError !== undefined) throw sourceError.error;
      if (inFlight === 0 && !flow.hasPending && (state.closing || (source.exhausted && !source.pulling)))
        break;
      await flow.changed();
    }
    if (state.closing && !source.exhausted) {
      throw new ClosedError(`The orchestrator closed before map("${task}") read all of its inputs`);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Also stops a pull still in progress from launching a batch nobody will read.
    controller.abort(signal?.reason);
    while (inFlight > 0) await flow.changed();
    host.lifecycle.unregister(producer);
    await source.close();
  }
}

function toRecord(index: number, result: ItemResult): MapRecord {
  if (result.ok) return { index, ok: true, value: result.value };
  const error = result.error instanceof Error ? result.error : new Error(String(result.error));
  return { index, ok: false, error };
}

function checkMap(
  task: unknown,
  inputs: unknown,
  batchSize: unknown,
  signal: unknown,
  priority: unknown,
  itemSignal: unknown,
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
  if (itemSignal !== undefined && typeof itemSignal !== 'function')
    throw new TypeError(`itemSignal must be a function, got ${describe(itemSignal)}`);
}
