/**
 * The pipeline stages that run on the main thread: a filter, and a batch stage that collects
 * items into one.
 * @module
 */
import type { Envelope, RunContext, Segment, StageRef } from './segments.js';

/** A filter on the main thread: items for which `fn` is falsy yield no record. @internal */
export class FilterSegment implements Segment {
  next: (item: Envelope) => void = () => {};
  ended = false;
  #pending = 0;

  constructor(
    readonly ctx: RunContext,
    readonly stage: StageRef,
    readonly fn: (value: unknown, index: number) => unknown,
    readonly downstream: () => boolean,
  ) {}

  get wants(): boolean {
    return this.downstream();
  }

  get idle(): boolean {
    return this.#pending === 0;
  }

  get busy(): boolean {
    return this.#pending > 0;
  }

  push(item: Envelope): void {
    const { stats } = this.stage;
    stats.in++;
    const started = performance.now();
    let keep: unknown;
    try {
      keep = this.fn(item.value, item.index);
    } catch (error) {
      return this.#failed(item, error, started);
    }
    if (typeof (keep as { then?: unknown } | null)?.then !== 'function')
      return this.#decide(item, keep, started);
    this.#pending++;
    Promise.resolve(keep).then(
      (kept) => {
        this.#pending--;
        this.#decide(item, kept, started);
        this.ctx.wake();
      },
      (error: unknown) => {
        this.#pending--;
        this.#failed(item, error, started);
        this.ctx.wake();
      },
    );
  }

  end(): void {}

  closing(): void {}

  #decide(item: Envelope, keep: unknown, started: number): void {
    this.stage.stats.seconds += (performance.now() - started) / 1000;
    if (keep) {
      this.stage.stats.out++;
      this.next(item);
    } else this.ctx.skip(item.index, this.stage);
  }

  #failed(item: Envelope, error: unknown, started: number): void {
    this.stage.stats.seconds += (performance.now() - started) / 1000;
    this.stage.stats.failed++;
    this.ctx.fail(item.index, error, this.stage);
  }
}

/**
 * Collects `size` items into one (their values in an array, its index the first one's); the
 * last batch may be smaller. Ordered, items are collected in input order: an ordered gate holds
 * an item until every earlier input has reached this stage or left the pipeline.
 * @internal
 */
export class BatchSegment implements Segment {
  next: (item: Envelope) => void = () => {};
  ended = false;
  #buffer: Envelope[] = [];
  /** Ordered: items by index, waiting for the ones before them; SKIPPED for gone ones. */
  readonly #held: Map<number, Envelope | null> | undefined;
  #nextIndex = 0;

  constructor(
    readonly ctx: RunContext,
    readonly stage: StageRef,
    readonly size: number,
    ordered: boolean,
  ) {
    this.#held = ordered ? new Map() : undefined;
  }

  readonly wants = true;
  readonly idle = true;
  readonly busy = false;

  push(item: Envelope): void {
    if (this.#held === undefined) return this.#collect(item);
    this.#held.set(item.index, item);
    this.#release();
  }

  /** Ordered: input `index` will never reach this stage. */
  gone(index: number): void {
    if (this.#held === undefined) return;
    this.#held.set(index, null);
    this.#release();
  }

  end(): void {
    if (this.#buffer.length > 0) this.#emit();
  }

  closing(): void {}

  #release(): void {
    const held = this.#held as Map<number, Envelope | null>;
    for (let item = held.get(this.#nextIndex); item !== undefined; item = held.get(this.#nextIndex)) {
      held.delete(this.#nextIndex++);
      if (item !== null) this.#collect(item);
    }
  }

  #collect(item: Envelope): void {
    this.stage.stats.in++;
    this.#buffer.push(item);
    if (this.#buffer.length >= this.size) this.#emit();
  }

  #emit(): void {
    const members = this.#buffer;
    this.#buffer = [];
    this.stage.stats.out++;
    for (let i = 1; i < members.length; i++) this.ctx.skip((members[i] as Envelope).index, this.stage);
    this.next({ index: (members[0] as Envelope).index, value: members.map((member) => member.value) });
  }
}
