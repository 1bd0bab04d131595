import { ClosedError } from '../errors.js';
import type { Producer } from '../orchestrator/lifecycle.js';
import { RecordFlow } from '../orchestrator/record-flow.js';
import { Source } from '../orchestrator/source.js';
import { BatchSegment, FilterSegment } from './main-stages.js';
import {
  WorkerSegment,
  type Envelope,
  type PipelineHost,
  type RunContext,
  type Segment,
  type StageRef,
} from './segments.js';

/** One stage as the builder records it. @internal */
export type StageSpec =
  | { readonly kind: 'map'; readonly task: string; readonly limit: number; readonly batchSize: number }
  | { readonly kind: 'filter'; readonly fn: (value: unknown, index: number) => unknown }
  | { readonly kind: 'batch'; readonly size: number };

/** The stage where an item failed, as its record names it. */
export interface PipelineStage {
  /** Its position in the pipeline, from 0. */
  readonly index: number;
  /** The task of a map stage, or `filter` / `batch`. */
  readonly name: string;
}

/** One result of a pipeline: the input's index and the last stage's value, or the error and the stage that failed. */
export type PipelineRecord<O = unknown> =
  | { readonly index: number; readonly ok: true; readonly value: O }
  | { readonly index: number; readonly ok: false; readonly error: Error; readonly stage: PipelineStage };

/** How a pipeline runs (checked by the builder). @internal */
export interface RunSettings {
  readonly ordered: boolean;
  readonly signal: AbortSignal | undefined;
  readonly priority: number;
  readonly fuse: boolean;
}

/**
 * Runs a pipeline: pulls the source lazily, moves each item through the segments, and yields
 * one record per input that is not dropped by a filter or merged by a batch stage.
 *
 * Backpressure: the source is pulled only while the first segment wants more and fewer than a
 * window of items are between the source and the consumer (the map window of the first
 * segment, plus room for each batch stage to fill), so memory stays flat for any input size
 * and a consumer that stops pulling stops the source. The pipeline is a producer of the
 * orchestrator's lifecycle, as a map is: once close() is called it pulls no more input, items
 * that would need a new batch end ERR_CLOSED, the batches it sent may finish until the close
 * deadline cancels them, and after its last record it rejects with ERR_CLOSED if the source
 * had more.
 * @internal
 */
export async function* runPipeline(
  host: PipelineHost,
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
  specs: readonly StageSpec[],
  settings: RunSettings,
): AsyncGenerator<PipelineRecord, void, undefined> {
  const { ordered, signal } = settings;
  signal?.throwIfAborted();
  if (!host.lifecycle.accepting) throw new ClosedError('The orchestrator is closed; pipeline() was refused');
  const controller = new AbortController();
  const flow = new RecordFlow<PipelineRecord>(ordered);
  const onAbort = (): void => {
    controller.abort(signal?.reason);
    flow.wake();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const source = new Source(inputs);
  let sourceError: { error: unknown } | undefined;
  const state = { closing: false };
  const batches: BatchSegment[] = [];
  const ctx: RunContext = {
    host,
    signal: controller.signal,
    priority: settings.priority,
    get closing() {
      return state.closing;
    },
    fail: (index, error, stage) => {
      for (const later of batches) if (later.stage.index > stage.index) later.gone(index);
      const reason = error instanceof Error ? error : new Error(String(error));
      flow.put({ index, ok: false, error: reason, stage: { index: stage.index, name: stage.name } });
    },
    skip: (index, stage) => {
      for (const later of batches) if (later.stage.index > stage.index) later.gone(index);
      flow.skip(index);
    },
    wake: () => flow.wake(),
  };
  const deliver = (item: Envelope): void => flow.put({ index: item.index, ok: true, value: item.value });
  const segments = buildSegments(ctx, specs, settings, batches, deliver);
  const head = segments[0];
  const headWorker = segments.find((segment) => segment instanceof WorkerSegment);
  const stageZero: StageRef = {
    index: 0,
    name: nameOf(specs[0]),
    stats: host.stageStats(`0:${nameOf(specs[0])}`),
  };
  const busy = (): boolean => segments.some((segment) => segment.busy);
  const producer: Producer = {
    closing: () => {
      state.closing = true;
      for (const segment of segments) segment.closing();
      flow.wake();
    },
    cancel: (reason) => {
      controller.abort(reason);
      flow.wake();
    },
    get idle() {
      return !busy();
    },
    waitAfterCancel: true,
  };

  const window = (): number => {
    const perBatch = headWorker?.nextSize ?? 64;
    const collecting = batches.reduce((sum, batch) => sum + batch.size, 0);
    return (2 * host.limit + 2) * perBatch + collecting;
  };
  const feed = (values: readonly unknown[]): void => {
    if (values.length === 0) return;
    const first = flow.reserve(values.length);
    values.forEach((value, i) => {
      const item: Envelope = { index: first + i, value };
      if (head === undefined) deliver(item);
      else if (state.closing) {
        const error = new ClosedError(
          `The orchestrator closed before item ${item.index} of the pipeline started`,
        );
        ctx.fail(item.index, error, stageZero);
      } else head.push(item);
    });
  };
  const fill = (): void => {
    while (
      !source.exhausted &&
      !source.pulling &&
      flow.buffered < window() &&
      (head?.wants ?? true) &&
      !controller.signal.aborted &&
      !state.closing
    ) {
      const pulled = source.pull(headWorker?.nextSize ?? 64);
      if (!(pulled instanceof Promise)) {
        feed(pulled);
        continue;
      }
      pulled.then(
        (values) => {
          if (!controller.signal.aborted || state.closing) feed(values);
          flow.wake();
        },
        (error: unknown) => {
          sourceError = { error };
          flow.wake();
        },
      );
    }
  };
  /** Tells each segment, in order, that no more input will come once everything before it is done. */
  const endSegments = (): boolean => {
    let upstreamDone = state.closing || controller.signal.aborted || (source.exhausted && !source.pulling);
    for (const segment of segments) {
      if (!upstreamDone) return false;
      if (!segment.ended) {
        segment.ended = true;
        segment.end();
      }
      upstreamDone = segment.idle;
    }
    return upstreamDone;
  };

  host.lifecycle.register(producer);
  try {
    for (;;) {
      fill();
      endSegments();
      for (let record = flow.take(); record !== undefined; record = flow.take()) {
        yield record;
        fill();
        endSegments();
      }
      // take() also passes indices that yield no record (dropped, merged): that frees room in
      // the window, and a pipeline with no map stage may produce records synchronously.
      fill();
      const done = endSegments();
      if (flow.hasPending) continue;
      if (signal?.aborted === true) throw signal.reason;
      if (sourceError !== undefined) throw sourceError.error;
      if (done && flow.buffered === 0) break;
      await flow.changed();
    }
    if (state.closing && !source.exhausted) {
      throw new ClosedError('The orchestrator closed before the pipeline read all of its inputs');
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    controller.abort(signal?.reason);
    while (busy()) await flow.changed();
    host.lifecycle.unregister(producer);
    await source.close();
  }
}

function nameOf(spec: StageSpec | undefined): string {
  if (spec === undefined) return 'source';
  return spec.kind === 'map' ? spec.task : spec.kind;
}

/** Segments from stages: consecutive map stages fused into one (unless `fuse` is false). */
function buildSegments(
  ctx: RunContext,
  specs: readonly StageSpec[],
  settings: RunSettings,
  batches: BatchSegment[],
  deliver: (item: Envelope) => void,
): Segment[] {
  const segments: Segment[] = [];
  const ref = (index: number): StageRef => {
    const name = nameOf(specs[index]);
    return { index, name, stats: ctx.host.stageStats(`${index}:${name}`) };
  };
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i] as StageSpec;
    if (spec.kind === 'map') {
      const fused: StageRef[] = [ref(i)];
      let limit = spec.limit;
      let batchSize = spec.batchSize;
      while (settings.fuse && specs[i + 1]?.kind === 'map') {
        const next = specs[++i] as Extract<StageSpec, { kind: 'map' }>;
        fused.push(ref(i));
        limit = Math.min(limit, next.limit);
        batchSize = Math.min(batchSize, next.batchSize);
      }
      segments.push(new WorkerSegment(ctx, fused, limit, batchSize));
    } else if (spec.kind === 'filter') {
      const after = segments.length + 1;
      segments.push(new FilterSegment(ctx, ref(i), spec.fn, () => segments[after]?.wants ?? true));
    } else {
      const batch = new BatchSegment(ctx, ref(i), spec.size, settings.ordered);
      batches.push(batch);
      segments.push(batch);
    }
  }
  segments.forEach((segment, i) => {
    const next = segments[i + 1];
    segment.next = next === undefined ? deliver : (item) => next.push(item);
  });
  return segments;
}
