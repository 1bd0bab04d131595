/**
 * The segments a pipeline runs as, and the one that runs map stages: fused (one batch per trip
 * to a thread, every stage of the chain inside it). Filters and batch stages are in
 * main-stages.ts. Items move
 * between segments as envelopes; an item that fails or is dropped leaves the pipeline where it
 * is, so later stages never see it.
 * @module
 */
import { ClosedError } from '../errors.js';
import { movingAverage } from '../internal/moving-average.js';
import { Batch, BatchItem, type ItemResult } from '../orchestrator/batch.js';
import type { MapHost } from '../orchestrator/map.js';
import type { StageStats } from '../telemetry/feature-families.js';

/** An item between stages: the index of the input it came from, and its value now. @internal */
export interface Envelope {
  readonly index: number;
  readonly value: unknown;
}

/** A stage as records and metrics name it. @internal */
export interface StageRef {
  /** Its position in the pipeline, from 0. */
  readonly index: number;
  /** The task, or `filter` / `batch`. */
  readonly name: string;
  readonly stats: StageStats;
}

/** What the segments share: the run's state and where items leave. @internal */
export interface RunContext {
  readonly host: PipelineHost;
  readonly signal: AbortSignal;
  readonly priority: number;
  /** The tenant and the resource units of every batch. */
  readonly tenant: string | undefined;
  readonly needs: Readonly<Record<string, number>> | undefined;
  readonly closing: boolean;
  /** Item `index` failed at `stage`: its record, and it reaches no later stage. */
  fail(index: number, error: unknown, stage: StageRef): void;
  /** Item `index` yields no record: a filter dropped it, or a batch merged it into another. */
  skip(index: number, stage: StageRef): void;
  /** Something changed: re-check the loop. */
  wake(): void;
}

/** What a pipeline needs from its orchestrator. @internal */
export interface PipelineHost extends MapHost {
  /** Counts one item of fused stages (telemetry and adaptation). */
  recordChain(
    chain: readonly string[],
    result: ItemResult,
    workerMs: number | undefined,
    waitMs: number | undefined,
    tenant: string | undefined,
  ): void;
  /** The counters of the stage with this label (bounded: past a cap, one shared "other"). */
  stageStats(label: string): StageStats;
}

/** One segment of a running pipeline. @internal */
export interface Segment {
  /** Where its items go next (the next segment, or the records). */
  next: (item: Envelope) => void;
  /** Whether it would take more input now (pulls from the source follow the first segment). */
  readonly wants: boolean;
  /** Whether nothing is queued or under way in it. */
  readonly idle: boolean;
  /** Batches of it in the pool, or filters awaited: what close() and the loop's end wait for. */
  readonly busy: boolean;
  ended: boolean;
  push(item: Envelope): void;
  /** No more input will come: send what is held. */
  end(): void;
  /** close() was called: fail what waits to be sent. */
  closing(): void;
}

/** Work per batch aimed for, in ms of worker time (as map). */
const TARGET_BATCH_MS = 1;

/**
 * Consecutive map stages of one worker module, fused: each batch goes to one thread, where
 * every item runs through the whole chain with no trip back between stages.
 * @internal
 */
export class WorkerSegment implements Segment {
  next: (item: Envelope) => void = () => {};
  ended = false;
  readonly #ctx: RunContext;
  readonly #stages: readonly StageRef[];
  readonly #chain: readonly string[];
  readonly #limit: number;
  readonly #batchSize: number;
  #queue: Envelope[] = [];
  #head = 0;
  #inFlight = 0;
  #perItemMs: number | undefined;
  #scheduled = false;

  constructor(ctx: RunContext, stages: readonly StageRef[], limit: number, batchSize: number) {
    this.#ctx = ctx;
    this.#stages = stages;
    this.#chain = stages.map((stage) => stage.name);
    this.#limit = limit;
    this.#batchSize = batchSize;
  }

  /** Items per batch: about a millisecond of work, at most batchSize. */
  get nextSize(): number {
    const per = this.#perItemMs;
    return per === undefined ? 1 : Math.max(1, Math.min(this.#batchSize, Math.round(TARGET_BATCH_MS / per)));
  }

  /** Batches in flight at most: the stage's limit, within the map window of the orchestrator. */
  get window(): number {
    return Math.min(this.#limit, 2 * this.#ctx.host.limit + 2);
  }

  get #queued(): number {
    return this.#queue.length - this.#head;
  }

  get wants(): boolean {
    return this.#inFlight < this.window && this.#queued < this.nextSize;
  }

  get idle(): boolean {
    return this.#queued === 0 && this.#inFlight === 0;
  }

  get busy(): boolean {
    return this.#inFlight > 0;
  }

  push(item: Envelope): void {
    if (this.#ctx.closing) return this.#refuse(item);
    this.#queue.push(item);
    if (this.#queued >= this.nextSize) this.#pump(false);
    else if (!this.#scheduled) {
      // Items that arrive in one turn (a chunk of results, a pull) leave in one batch.
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.#pump(true);
      });
    }
  }

  end(): void {
    this.#pump(true);
  }

  closing(): void {
    while (this.#queued > 0) this.#refuse(this.#take(1)[0] as Envelope);
  }

  #refuse(item: Envelope): void {
    const stage = this.#stages[0] as StageRef;
    const error = new ClosedError(
      `The orchestrator closed before item ${item.index} reached stage ${stage.index} ("${stage.name}")`,
    );
    this.#ctx.fail(item.index, error, stage);
  }

  #take(count: number): Envelope[] {
    const taken = this.#queue.slice(this.#head, this.#head + count);
    this.#head += taken.length;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return taken;
  }

  #pump(force: boolean): void {
    while (this.#queued > 0 && this.#inFlight < this.window && !this.#ctx.signal.aborted) {
      if (!force && this.#queued < this.nextSize) return;
      this.#launch(this.#take(this.nextSize));
    }
  }

  #launch(envelopes: readonly Envelope[]): void {
    const ctx = this.#ctx;
    const chain = this.#chain;
    const itemHost = {
      recordItem: (_task: string, result: ItemResult, workerMs?: number, waitMs?: number) =>
        ctx.host.recordChain(chain, result, workerMs, waitMs, ctx.tenant),
    };
    let open = envelopes.length;
    let workerMs = 0;
    const items = envelopes.map(
      (envelope) =>
        new BatchItem(itemHost, chain[0] as string, envelope.value, undefined, false, (result, ms) => {
          this.#settle(envelope, result, ms);
          workerMs += ms ?? 0;
          if (--open > 0 || workerMs === 0) return;
          const sample = workerMs / envelopes.length;
          this.#perItemMs = movingAverage(this.#perItemMs, sample, 0.3);
        }),
    );
    new Batch(ctx.host, chain[0] as string, items, {
      signal: ctx.signal,
      priority: ctx.priority,
      tenant: ctx.tenant,
      needs: ctx.needs,
      chain: chain.length > 1 ? chain : undefined,
      onStageMs: (ms) =>
        ms.forEach((value, k) => ((this.#stages[k] as StageRef).stats.seconds += value / 1000)),
      tracker: {
        opened: () => this.#inFlight++,
        closed: () => {
          this.#inFlight--;
          this.#pump(true);
          ctx.wake();
        },
      },
    });
  }

  #settle(envelope: Envelope, result: ItemResult, ms: number | undefined): void {
    const stages = this.#stages;
    const end = result.ok ? stages.length - 1 : (result.stage ?? 0);
    for (let k = 0; k <= end; k++) {
      const stats = (stages[k] as StageRef).stats;
      stats.in++;
      if (k < end || result.ok) stats.out++;
      else stats.failed++;
    }
    if (stages.length === 1 && ms !== undefined) (stages[0] as StageRef).stats.seconds += ms / 1000;
    if (result.ok) this.next({ index: envelope.index, value: result.value });
    else this.#ctx.fail(envelope.index, result.error, stages[end] as StageRef);
  }
}
