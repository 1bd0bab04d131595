import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { ClosedError, DataCloneError, PayloadTooLargeError } from '../errors.js';
import { movingAverage } from '../internal/moving-average.js';
import type { MapRecord } from '../orchestrator/map.js';
import { RecordFlow } from '../orchestrator/record-flow.js';
import type { ClientJobs, Finished } from './client-jobs.js';

/** Options of {@link QueueClient.map}. */
export interface QueueMapOptions {
  /** Yield results in input order. @default false */
  ordered?: boolean | undefined;
  /** Aborting it cancels the map: waiting jobs are removed, running ones cancelled on their nodes. */
  signal?: AbortSignal | undefined;
  /** Priority of the map's jobs (higher first), an integer within ±1,048,575. @default 0 */
  priority?: number | undefined;
  /** The most inputs per job. @default the client's `maxItemsPerJob` */
  batchSize?: number | undefined;
  /** Stop at the first failed item and reject with its error. @default false */
  failFast?: boolean | undefined;
  /** The tenant every job counts for on the node that takes it (see `QueueRunOptions.tenant`). */
  tenant?: string | undefined;
}

/** What a client map needs from its client. @internal */
export interface ClientMapHost {
  readonly jobs: ClientJobs;
  /** Aborted when the client starts closing: the map stops pulling inputs. */
  readonly closing: AbortSignal;
  readonly jobTargetMs: number;
  readonly maxJobsInFlight: number;
  readonly maxPayloadBytes: number;
  /** Per task: the node work per item and the bytes per item seen so far, shared by the client's maps. */
  readonly costs: Map<string, { perItemMs: number; bytesPerItem: number }>;
}

/**
 * The engine of `QueueClient.map`: packs inputs into jobs sized to about `jobTargetMs` of node
 * work each (from the worker time per item the nodes report, remembered per task across the
 * client's maps; at most `batchSize` items and a quarter of `maxPayloadBytes`), keeps at most
 * `maxJobsInFlight` jobs queued or running (of one item each until the first result tells what
 * an item costs), and yields one record per input as results come back. Inputs are pulled only while the window has room, so
 * memory stays flat. Leaving the loop early or aborting `signal` cancels the jobs in flight and
 * waits until each has ended.
 * @internal
 */
export async function* mapOverQueue(
  host: ClientMapHost,
  task: string,
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
  options: QueueMapOptions & { batchSize: number },
): AsyncGenerator<MapRecord, void, undefined> {
  const { ordered = false, signal, priority = 0, failFast = false, tenant, batchSize } = options;
  signal?.throwIfAborted();
  const stop = new AbortController();
  const flow = new RecordFlow<MapRecord>(ordered);
  const onAbort = (): void => {
    stop.abort(signal?.reason);
    flow.wake();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  host.closing.addEventListener('abort', onAbort, { once: true });
  const source = new ItemSource(inputs);
  const live = new Set<string>();
  let inFlight = 0;
  // What the client learnt of this task in earlier maps: a new map starts with jobs of the right size.
  const known = host.costs.get(task);
  let perItemMs = known?.perItemMs;
  let bytesPerItem = known?.bytesPerItem ?? 0;
  let sourceError: { error: unknown } | undefined;

  const nextSize = (): number => {
    if (perItemMs === undefined) return 1;
    const byTime = perItemMs > 0 ? Math.round(host.jobTargetMs / perItemMs) : batchSize;
    const byBytes = bytesPerItem > 0 ? Math.floor(host.maxPayloadBytes / 4 / bytesPerItem) : batchSize;
    return Math.max(1, Math.min(batchSize, byTime, byBytes));
  };
  const learn = (finished: Finished & { kind: 'done' }, count: number, inputBytes: number): void => {
    const sample = finished.ms / count;
    perItemMs = movingAverage(perItemMs, sample, 0.3);
    bytesPerItem = Math.max(bytesPerItem * 0.9, inputBytes / count, finished.bytes / count);
    host.costs.set(task, { perItemMs, bytesPerItem });
  };

  const runJob = async (first: number, values: readonly unknown[]): Promise<void> => {
    let started;
    try {
      started = await host.jobs.start(task, values, { priority, tenant });
    } catch (error) {
      // One input too large or not serializable must not fail its neighbours: split until it is alone.
      if ((error instanceof PayloadTooLargeError || error instanceof DataCloneError) && values.length > 1) {
        const half = Math.ceil(values.length / 2);
        launch(first, values.slice(0, half));
        launch(first + half, values.slice(half));
        return;
      }
      values.forEach((_, i) => flow.put({ index: first + i, ok: false, error: error as Error }));
      return;
    }
    live.add(started.jobId);
    if (stop.signal.aborted) host.jobs.cancel([started.jobId]);
    const finished = await host.jobs.finish(started);
    live.delete(started.jobId);
    if (finished.kind === 'done') {
      learn(finished, values.length, started.bytes);
      finished.outcomes.forEach((outcome, i) =>
        flow.put(
          outcome.ok
            ? { index: first + i, ok: true, value: outcome.value }
            : { index: first + i, ...outcome },
        ),
      );
    } else if (finished.kind === 'failed') {
      values.forEach((_, i) => flow.put({ index: first + i, ok: false, error: finished.error }));
    }
  };
  const launch = (first: number, values: readonly unknown[]): void => {
    inFlight++;
    void runJob(first, values).finally(() => {
      inFlight--;
      flow.wake();
    });
  };

  // Until a job has come back, an item's cost is unknown and jobs carry one item each: a slow
  // task fills the cluster at once, and fast ones pay this once per task and client.
  const windowOpen = (): boolean =>
    inFlight < host.maxJobsInFlight && flow.buffered < host.maxJobsInFlight * nextSize();
  const fill = (): void => {
    while (!source.exhausted && !source.pulling && windowOpen() && !stop.signal.aborted) {
      const pulled = source.pull(nextSize());
      if (!(pulled instanceof Promise)) {
        if (pulled.length > 0) launch(flow.reserve(pulled.length), pulled);
        continue;
      }
      pulled.then(
        (values) => {
          if (values.length > 0 && !stop.signal.aborted) launch(flow.reserve(values.length), values);
          flow.wake();
        },
        (error: unknown) => {
          sourceError = { error };
          flow.wake();
        },
      );
    }
  };

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
      if (inFlight === 0 && !source.pulling) {
        if (source.exhausted) break;
        if (host.closing.aborted)
          throw new ClosedError(`The client closed; map("${task}") stopped before its inputs ended`);
      }
      await flow.changed();
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    host.closing.removeEventListener('abort', onAbort);
    stop.abort(signal?.reason);
    host.jobs.cancel([...live]);
    while (inFlight > 0) await flow.changed();
    await source.close();
  }
}

const STALLED: unique symbol = Symbol('stalled');

/**
 * The inputs, pulled a job at a time: synchronously from an iterable; from an async iterable,
 * with what arrives before the next macrotask, so a slow source sends what it has.
 */
class ItemSource {
  readonly #iterator: Iterator<unknown> | AsyncIterator<unknown>;
  readonly #async: boolean;
  #held: Promise<IteratorResult<unknown>> | undefined;
  exhausted = false;
  pulling = false;

  constructor(inputs: Iterable<unknown> | AsyncIterable<unknown>) {
    this.#async = Symbol.asyncIterator in inputs;
    this.#iterator = this.#async
      ? (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (inputs as Iterable<unknown>)[Symbol.iterator]();
  }

  pull(size: number): unknown[] | Promise<unknown[]> {
    if (this.#async) return this.#pullAsync(size);
    const iterator = this.#iterator as Iterator<unknown>;
    const values: unknown[] = [];
    for (let next = iterator.next(); ; next = iterator.next()) {
      if (next.done === true) {
        this.exhausted = true;
        break;
      }
      if (values.push(next.value) >= size) break;
    }
    return values;
  }

  async #pullAsync(size: number): Promise<unknown[]> {
    this.pulling = true;
    const iterator = this.#iterator as AsyncIterator<unknown>;
    const values: unknown[] = [];
    try {
      let next = this.#held ?? iterator.next();
      this.#held = undefined;
      const stalled = (async (): Promise<typeof STALLED> => {
        await next;
        await nextMacrotask();
        return STALLED;
      })();
      while (values.length < size) {
        const result = await Promise.race([next, stalled]);
        if (result === STALLED) {
          this.#held = next;
          next.catch(() => undefined);
          break;
        }
        if (result.done === true) {
          this.exhausted = true;
          break;
        }
        values.push(result.value);
        if (values.length < size) next = iterator.next();
      }
      return values;
    } finally {
      this.pulling = false;
    }
  }

  /** Closes the source; an async one busy in its own await is told to return but not waited for. */
  async close(): Promise<void> {
    const closing = this.#iterator.return?.();
    if (closing === undefined) return;
    if (this.pulling || this.#held !== undefined) void Promise.resolve(closing).catch(() => undefined);
    else await closing;
  }
}
