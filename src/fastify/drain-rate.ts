/**
 * The rate at which runs leave the orchestrator (finish, fail or are cancelled), over a sliding
 * window of fixed buckets: what a `Retry-After` for a shed request is estimated from.
 * @internal
 */
export class DrainRate {
  readonly #bucketMs: number;
  readonly #counts: number[];
  readonly #now: () => number;
  readonly #startedAt: number;
  /** The bucket `now` falls in: floor(now / bucketMs). */
  #epoch: number;

  /**
   * @param windowMs - how far back completions count. @default 5000
   * @param buckets - the window's resolution. @default 10
   * @param now - the clock, in milliseconds. @default performance.now
   */
  constructor(windowMs = 5000, buckets = 10, now: () => number = () => performance.now()) {
    this.#bucketMs = windowMs / buckets;
    this.#counts = new Array<number>(buckets).fill(0);
    this.#now = now;
    this.#startedAt = now();
    this.#epoch = Math.floor(this.#startedAt / this.#bucketMs);
  }

  /** Counts one run that left. */
  record(): void {
    const slot = this.#advance() % this.#counts.length;
    this.#counts[slot] = (this.#counts[slot] ?? 0) + 1;
  }

  /** Runs left per second over the window, or undefined when none left in it. */
  perSecond(): number | undefined {
    const epoch = this.#advance();
    const total = this.#counts.reduce((sum, count) => sum + count, 0);
    if (total === 0) return undefined;
    const now = this.#now();
    const spanned = (this.#counts.length - 1) * this.#bucketMs + (now - epoch * this.#bucketMs);
    const elapsed = Math.min(spanned, now - this.#startedAt);
    return total / (Math.max(elapsed, this.#bucketMs) / 1000);
  }

  /**
   * Seconds until `backlog` waiting runs have drained at the current rate: ceil(backlog / rate),
   * at least 1 and at most `maxSeconds`. Nothing left in the window means the rate is too low to
   * measure; then the answer is the window itself (also capped).
   */
  retryAfterSeconds(backlog: number, maxSeconds = 60): number {
    const rate = this.perSecond();
    const seconds = rate === undefined ? (this.#bucketMs * this.#counts.length) / 1000 : backlog / rate;
    return Math.min(maxSeconds, Math.max(1, Math.ceil(seconds)));
  }

  /** Moves the window to now, emptying the buckets that fell out of it. */
  #advance(): number {
    const epoch = Math.floor(this.#now() / this.#bucketMs);
    const stale = Math.min(epoch - this.#epoch, this.#counts.length);
    for (let i = 1; i <= stale; i++) this.#counts[(this.#epoch + i) % this.#counts.length] = 0;
    if (epoch > this.#epoch) this.#epoch = epoch;
    return this.#epoch;
  }
}
