/** Marks an index resolved without a record. */
const SKIPPED: unique symbol = Symbol('skipped');

/**
 * The records between the batches and the consumer, and the wake-up of the waiting loop: in
 * input order (`ordered`) or as they come. Every reserved index is resolved once, by a record
 * or, for an input that yields none (a pipeline's filter dropped it), by {@link skip}.
 * @internal
 */
export class RecordFlow<R extends { readonly index: number }> {
  readonly #ordered: boolean;
  /** Unordered: records ready, oldest first. */
  #queue: R[] = [];
  #head = 0;
  /** Ordered: records by index, waiting for their turn. */
  readonly #pending = new Map<number, R | typeof SKIPPED>();
  #nextToYield = 0;
  #reserved = 0;
  #wake: (() => void) | undefined;

  constructor(ordered: boolean) {
    this.#ordered = ordered;
  }

  /** Reserves the indices of `count` new inputs; returns the first. */
  reserve(count: number): number {
    const first = this.#reserved;
    this.#reserved += count;
    return first;
  }

  /** Records pulled but not yet yielded (in flight or waiting for their turn). */
  get buffered(): number {
    return this.#reserved - this.#nextToYield;
  }

  /** Whether a record is ready to yield. */
  get hasPending(): boolean {
    if (!this.#ordered) return this.#head < this.#queue.length;
    // Skipped indices at the head count: take() passes them.
    return this.#pending.has(this.#nextToYield);
  }

  put(record: R): void {
    if (this.#ordered) this.#pending.set(record.index, record);
    else this.#queue.push(record);
    this.wake();
  }

  /** Resolves `index` without a record. */
  skip(index: number): void {
    if (this.#ordered) this.#pending.set(index, SKIPPED);
    else this.#nextToYield++;
    this.wake();
  }

  /** The next record to yield, if one is ready. */
  take(): R | undefined {
    if (this.#ordered) {
      for (;;) {
        const record = this.#pending.get(this.#nextToYield);
        if (record === undefined) return undefined;
        this.#pending.delete(this.#nextToYield++);
        if (record !== SKIPPED) return record;
      }
    }
    if (this.#head === this.#queue.length) return undefined;
    const record = this.#queue[this.#head++];
    this.#nextToYield++;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return record;
  }

  /** Resolves at the next record, finished batch, pull or abort. */
  changed(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
