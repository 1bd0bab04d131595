import { clearLongTimeout, setLongTimeout } from '../internal/long-timer.js';

/** The states of an orchestrator: open → closing → closed, never back. */
export type LifecycleState = 'open' | 'closing' | 'closed';

/**
 * Something that starts work on the orchestrator's behalf — the engine's runs, a `map`, the
 * run coalescer, the `go` group — and so must take part in `close()`.
 * @internal
 */
export interface Producer {
  /** `close()` was called: start no new work (a map stops pulling its source). */
  closing(): void;
  /** The close deadline passed: cancel what is left with `reason`. */
  cancel(reason: unknown): void;
  /** Whether everything it started has settled. */
  readonly idle: boolean;
  /** Whether `close()` waits for it after cancelling (false for main-thread code that may ignore its signal). */
  readonly waitAfterCancel: boolean;
}

/**
 * The lifecycle every producer registers with: the single owner of "nothing new starts once
 * `close()` is called" and of "close() returns once everything has settled, within its
 * deadline". Producers report that they may have become idle with {@link changed}.
 * @internal
 */
export class Lifecycle {
  #state: LifecycleState = 'open';
  readonly #producers = new Set<Producer>();
  #wake: (() => void) | undefined;

  /** Where the orchestrator stands. */
  get state(): LifecycleState {
    return this.#state;
  }

  /** Whether new work is accepted (until `close()` is called). */
  get accepting(): boolean {
    return this.#state === 'open';
  }

  /** Whether the pool is gone: nothing at all may be submitted any more. */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Adds a producer; a producer registered while closing is told at once. */
  register(producer: Producer): void {
    this.#producers.add(producer);
    if (this.#state !== 'open') producer.closing();
  }

  /** Removes a producer (a map that ended). */
  unregister(producer: Producer): void {
    if (this.#producers.delete(producer)) this.changed();
  }

  /** A producer may have become idle: re-check what `close()` waits for. */
  changed(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Moves to closing and tells every producer to start nothing new. */
  beginClosing(): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    for (const producer of [...this.#producers]) producer.closing();
  }

  /** Cancels what every producer has left. */
  cancel(reason: unknown): void {
    for (const producer of [...this.#producers]) producer.cancel(reason);
  }

  /**
   * Resolves true once every producer (only those that `waitAfterCancel`, with `afterCancel`)
   * is idle, or false after `ms` (Infinity: no deadline). Leaves no timer behind.
   */
  async idleWithin(ms: number, afterCancel = false): Promise<boolean> {
    const busy = (): boolean =>
      [...this.#producers].some((producer) => !producer.idle && (!afterCancel || producer.waitAfterCancel));
    if (!busy()) return true;
    const deadline = { passed: false };
    const timer = setLongTimeout(() => {
      deadline.passed = true;
      this.changed();
    }, ms);
    try {
      while (busy() && !deadline.passed) await new Promise<void>((resolve) => (this.#wake = resolve));
      return !busy();
    } finally {
      clearLongTimeout(timer);
    }
  }

  /** The pool is gone. */
  markClosed(): void {
    this.#state = 'closed';
  }
}
