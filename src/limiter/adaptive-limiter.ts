import { unwatch, watch, type AbortWatcher } from '../internal/signal-watch.js';
import { assertFinite, assertInteger, assertOptionalSignal, describe } from '../internal/validate.js';
import { Permit } from './permit.js';
import { WaitQueue, type WaitNode, type Waiter } from './wait-queue.js';

/** Options of {@link AdaptiveLimiter}. */
export interface AdaptiveLimiterOptions {
  /** How many permits may be held at once to begin with. An integer >= 1. */
  limit: number;
  /** The smallest limit {@link AdaptiveLimiter.resize} may set. @default 1 */
  minLimit?: number;
  /** The largest limit {@link AdaptiveLimiter.resize} may set. @default limit */
  maxLimit?: number;
}

/** Options of {@link AdaptiveLimiter.acquire} and {@link AdaptiveLimiter.run}. */
export interface AcquireOptions {
  /** Aborting it while waiting rejects the acquire with `signal.reason` and leaves the queue. */
  signal?: AbortSignal | undefined;
  /** Higher numbers are admitted first; equal priorities in arrival order. @default 0 */
  priority?: number | undefined;
}

/** @internal Reserves a slot synchronously for an internal caller, or queues its waiter. */
export const kAcquireSlot = Symbol('acquireSlot');
/** @internal Returns a slot taken with {@link kAcquireSlot} and hands it on synchronously. */
export const kReleaseSlot = Symbol('releaseSlot');
/** @internal Withdraws a waiter queued with {@link kAcquireSlot}. */
export const kCancelWait = Symbol('cancelWait');

/**
 * A resizable FIFO semaphore with priorities and abort-aware waiting: the orchestrator's
 * admission control, usable on its own.
 *
 * Contract:
 * - At most `limit` permits are held at once.
 * - Waiters are admitted strictly in arrival order within a priority; a higher priority goes
 *   first. There is no barging: the fast path is taken only when nobody is waiting.
 * - A waiter whose signal aborts leaves the queue at once and rejects with `signal.reason`; an
 *   already-aborted signal rejects without queueing.
 * - {@link resize} clamps to [minLimit, maxLimit]. Growing admits waiters at once, in order.
 *   Shrinking never preempts a holder: new permits wait until `inFlight` is below the new limit.
 * - Releasing hands the slot to the next waiter synchronously, before `release()` returns.
 * - acquire and release are O(1) whatever the queue length, also when many waiters share one
 *   AbortSignal: the signal gets one listener, however many wait on it.
 *
 * @example
 * ```ts
 * const limiter = new AdaptiveLimiter({ limit: 4, maxLimit: 16 });
 * const result = await limiter.run(() => fetchAndParse(url), { priority: 1 });
 * limiter.resize(8);
 * ```
 */
export class AdaptiveLimiter {
  #limit: number;
  readonly #minLimit: number;
  readonly #maxLimit: number;
  #inFlight = 0;
  readonly #queue = new WaitQueue();
  #draining = false;

  /**
   * @param options - `limit`, and the bounds `minLimit`/`maxLimit` for {@link resize}.
   * @throws TypeError or RangeError naming the field when a bound is not a positive integer,
   *   `minLimit > maxLimit`, or `limit` lies outside [minLimit, maxLimit].
   */
  constructor(options: AdaptiveLimiterOptions) {
    // Plain-JS callers get a named error rather than a destructuring TypeError.
    if (typeof options !== 'object' || (options as unknown) === null) {
      throw new TypeError(`options must be an object, got ${describe(options)}`);
    }
    const { limit, minLimit = 1, maxLimit = limit } = options;
    assertInteger('limit', limit, 1);
    assertInteger('minLimit', minLimit, 1);
    assertInteger('maxLimit', maxLimit, 1);
    if (minLimit > maxLimit) throw new RangeError(`minLimit (${minLimit}) must be <= maxLimit (${maxLimit})`);
    if (limit < minLimit || limit > maxLimit) {
      throw new RangeError(
        `limit must be within [minLimit, maxLimit] = [${minLimit}, ${maxLimit}], got ${limit}`,
      );
    }
    this.#limit = limit;
    this.#minLimit = minLimit;
    this.#maxLimit = maxLimit;
  }

  /** How many permits may be held at once now. */
  get limit(): number {
    return this.#limit;
  }

  /** The lower bound of {@link resize}. */
  get minLimit(): number {
    return this.#minLimit;
  }

  /** The upper bound of {@link resize}. */
  get maxLimit(): number {
    return this.#maxLimit;
  }

  /** How many permits are held now (may exceed `limit` for a while after a shrink). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** How many acquires are waiting. */
  get pending(): number {
    return this.#queue.size;
  }

  /**
   * Waits for a permit.
   * @param options - `signal` to stop waiting, `priority` (higher first, default 0).
   * @returns a promise of a {@link Permit}; release it exactly when the work is done.
   *   Rejects with `signal.reason` if the signal aborts first, and with a TypeError or RangeError
   *   for a bad option.
   */
  acquire(options: AcquireOptions = {}): Promise<Permit> {
    const { signal, priority = 0 } = options;
    try {
      assertOptionalSignal('signal', signal);
      assertFinite('priority', priority);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (this.#hasFreeSlot()) {
      this.#inFlight++;
      return Promise.resolve(new Permit(this));
    }
    return new Promise<Permit>((resolve, reject) => {
      const waiter = new PermitWaiter(this, resolve, reject, signal);
      waiter.node = this.#queue.push(waiter, priority);
    });
  }

  /** Takes a permit if one is free and nobody is waiting; never waits. */
  tryAcquire(): Permit | undefined {
    if (!this.#hasFreeSlot()) return undefined;
    this.#inFlight++;
    return new Permit(this);
  }

  /**
   * Acquires a permit, runs `fn`, and releases the permit however `fn` ends.
   * @param fn - the work; may be sync or async.
   * @param options - as for {@link acquire}.
   * @returns what `fn` returns; rejects with what it throws.
   */
  async run<T>(fn: () => T | PromiseLike<T>, options: AcquireOptions = {}): Promise<Awaited<T>> {
    if (typeof fn !== 'function') throw new TypeError(`fn must be a function, got ${describe(fn)}`);
    // try/finally rather than `using`: the down-levelled disposal helpers cost more than the work here.
    const permit = await this.acquire(options);
    try {
      return await fn();
    } finally {
      permit.release();
    }
  }

  /**
   * Sets the limit, clamped to [minLimit, maxLimit]. Growing admits waiters immediately, in order;
   * shrinking lets current holders finish.
   * @param limit - any integer; it is clamped.
   * @returns the limit now in force.
   * @throws TypeError if `limit` is not a number; RangeError if it is not an integer.
   */
  resize(limit: number): number {
    if (typeof limit !== 'number') throw new TypeError(`limit must be an integer, got ${describe(limit)}`);
    if (!Number.isInteger(limit)) throw new RangeError(`limit must be an integer, got ${describe(limit)}`);
    this.#limit = Math.min(this.#maxLimit, Math.max(this.#minLimit, limit));
    this.#drain();
    return this.#limit;
  }

  /** @internal Called once by a {@link Permit}. */
  releasePermit(): void {
    this[kReleaseSlot]();
  }

  /**
   * @internal Takes a slot now (returns undefined) or queues `waiter`, whose `grant` runs
   * synchronously when a slot is reserved for it (returns its node, for {@link kCancelWait}).
   */
  [kAcquireSlot](waiter: Waiter, priority: number): WaitNode | undefined {
    if (this.#hasFreeSlot()) {
      this.#inFlight++;
      return undefined;
    }
    return this.#queue.push(waiter, priority);
  }

  /** @internal */
  [kReleaseSlot](): void {
    this.#inFlight--;
    this.#drain();
  }

  /** @internal Returns whether the waiter was still queued (and so was never granted). */
  [kCancelWait](node: WaitNode): boolean {
    return this.#queue.remove(node);
  }

  #hasFreeSlot(): boolean {
    return this.#inFlight < this.#limit && this.#queue.size === 0;
  }

  #drain(): void {
    // A grant may release synchronously (work that fails at once); the outer loop carries on
    // instead of recursing, so order is kept and the stack stays flat.
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#inFlight < this.#limit) {
        const node = this.#queue.shift();
        if (node === undefined) break;
        this.#inFlight++;
        node.waiter.grant();
      }
    } finally {
      this.#draining = false;
    }
  }
}

/**
 * A public `acquire()` waiting in the queue. It watches its signal through the shared watch
 * (one listener per signal), because adding a listener per waiter to one shared signal is O(n)
 * in Node's EventTarget and warns past ten.
 */
class PermitWaiter implements Waiter, AbortWatcher {
  node: WaitNode | undefined;

  constructor(
    readonly limiter: AdaptiveLimiter,
    readonly resolve: (permit: Permit) => void,
    readonly reject: (reason: unknown) => void,
    readonly signal: AbortSignal | undefined,
  ) {
    if (signal !== undefined) watch(signal, this);
  }

  grant(): void {
    if (this.signal !== undefined) unwatch(this.signal, this);
    this.resolve(new Permit(this.limiter));
  }

  onSignalAbort(signal: AbortSignal): void {
    if (this.node !== undefined && this.limiter[kCancelWait](this.node)) this.reject(signal.reason);
  }
}
