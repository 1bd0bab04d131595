import { setImmediate as nextMacrotask } from 'node:timers/promises';

/**
 * The inputs, pulled a batch at a time. A synchronous iterable is pulled synchronously (no
 * promise per item). An async one fills a batch with what arrives before the next macrotask:
 * an in-memory source fills it, a slow one sends what it has rather than hold items back.
 * @internal
 */
export class Source {
  readonly #sync: Iterator<unknown> | undefined;
  readonly #async: AsyncIterator<unknown> | undefined;
  /** A `next()` of the async source that did not answer in time for the last batch. */
  #held: Promise<IteratorResult<unknown>> | undefined;
  exhausted = false;
  /** An async pull is in progress. */
  pulling = false;

  constructor(inputs: Iterable<unknown> | AsyncIterable<unknown>) {
    if (Symbol.asyncIterator in inputs) this.#async = inputs[Symbol.asyncIterator]();
    else this.#sync = inputs[Symbol.iterator]();
  }

  pull(size: number): unknown[] | Promise<unknown[]> {
    if (this.#sync === undefined) return this.#pullAsync(size);
    const values: unknown[] = [];
    while (values.length < size) {
      const next = this.#sync.next();
      if (next.done === true) {
        this.exhausted = true;
        break;
      }
      values.push(next.value);
    }
    return values;
  }

  async #pullAsync(size: number): Promise<unknown[]> {
    this.pulling = true;
    try {
      return await this.#fill(size);
    } finally {
      this.pulling = false;
    }
  }

  async #fill(size: number): Promise<unknown[]> {
    const iterator = this.#async as AsyncIterator<unknown>;
    const values: unknown[] = [];
    const first = await (this.#held ?? iterator.next());
    this.#held = undefined;
    if (first.done === true) {
      this.exhausted = true;
      return values;
    }
    values.push(first.value);
    const stalled = nextMacrotask(undefined).then((): typeof STALLED => STALLED);
    while (values.length < size) {
      const next = iterator.next();
      const result = await Promise.race([next, stalled]);
      if (result === STALLED) {
        this.#held = next;
        // Awaited by the next pull; until then a rejection must not count as unhandled.
        next.catch(() => {});
        break;
      }
      if (result.done === true) {
        this.exhausted = true;
        break;
      }
      values.push(result.value);
    }
    return values;
  }

  /**
   * Closes the source. An async source with a pull in progress is told to return but not
   * waited for: it may be stuck in its own await, and leaving the loop must not hang on it.
   */
  async close(): Promise<void> {
    if (this.#sync !== undefined) {
      this.#sync.return?.();
      return;
    }
    const closing = this.#async?.return?.();
    if (closing === undefined) return;
    if (this.pulling || this.#held !== undefined) void Promise.resolve(closing).catch(() => {});
    else await closing;
  }
}

const STALLED: unique symbol = Symbol('stalled');
