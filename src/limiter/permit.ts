/** What a {@link Permit} gives its slot back to. */
interface PermitOwner {
  releasePermit(): void;
}

/**
 * One slot of an {@link AdaptiveLimiter}. Release it exactly when the work is done; releasing is
 * idempotent (a second call does nothing and never frees a second slot), and `using` releases it
 * at the end of the scope.
 *
 * @example
 * ```ts
 * {
 *   using permit = await limiter.acquire();
 *   await work();
 * } // released here, even if work() throws
 * ```
 */
export class Permit implements Disposable {
  #owner: PermitOwner | undefined;

  /** @internal Only the limiter creates permits. */
  constructor(owner: PermitOwner) {
    this.#owner = owner;
  }

  /** Whether {@link release} has been called. */
  get released(): boolean {
    return this.#owner === undefined;
  }

  /** Gives the slot back and admits the next waiter synchronously. Later calls do nothing. */
  release(): void {
    const owner = this.#owner;
    if (owner === undefined) return;
    this.#owner = undefined;
    owner.releasePermit();
  }

  /** Same as {@link release}; lets `using permit = await limiter.acquire()` release at scope end. */
  [Symbol.dispose](): void {
    this.release();
  }
}
