import { setMaxListeners } from 'node:events';
import { AbortedError } from '../errors.js';
import { describe } from '../internal/validate.js';

/** A function run by a {@link TaskGroup}: it receives the group's signal. */
export type GroupTask = (signal: AbortSignal) => unknown;

/** Options of {@link TaskGroup}. */
export interface TaskGroupOptions {
  /** A parent signal (another group's, a request's): when it aborts, so does the group. */
  signal?: AbortSignal | undefined;
  /** The most tasks that run at once; `go` queues beyond it (FIFO). @default Infinity */
  limit?: number | undefined;
}

/**
 * Structured concurrency in the manner of Go's errgroup.
 *
 * Contract:
 * - `go(fn)` runs `fn(group.signal)`. The first failure — a rejection or a synchronous throw —
 *   aborts `group.signal` with that error as its reason; every other task sees the abort.
 * - `wait()` settles only after every started task has settled, then rejects with the first
 *   error (all errors, in the order they happened, stay on `errors`) or resolves.
 * - A parent `signal` aborting aborts the group with the parent's reason, and `wait()` rejects
 *   with that reason once every task has settled. The group's listener on the parent is removed
 *   as soon as the group has no work, so many short-lived child groups leak nothing.
 * - With `limit`, at most `limit` tasks run at once; further `go` calls queue in FIFO order and
 *   start as slots free.
 * - Every `fn` given to `go` runs exactly once, as in errgroup: also after the group has aborted
 *   (queued, or passed to `go` later), when it starts with `group.signal` already aborted so that
 *   a well-behaved task returns at once. Nothing is dropped silently. A group that failed stays
 *   failed: `wait()` keeps rejecting with the first error.
 * - A group whose `wait()` resolved may be reused: new `go` calls start a new round of work and a
 *   new `wait()` waits for it.
 *
 * @example
 * ```ts
 * const group = new TaskGroup({ limit: 4 });
 * for (const url of urls) group.go((signal) => download(url, { signal }));
 * await group.wait(); // rejects with the first failure, after every download settled
 * ```
 */
export class TaskGroup {
  readonly #controller = new AbortController();
  readonly #parent: AbortSignal | undefined;
  readonly #limit: number;
  readonly #queue: GroupTask[] = [];
  #queueHead = 0;
  #active = 0;
  #errors: unknown[] = [];
  #idle: (() => void)[] = [];
  #listening = false;
  #disposing: Promise<void> | undefined;

  /**
   * @param options - a parent `signal` and a concurrency `limit`.
   * @throws RangeError if `limit` is not a positive integer or Infinity; TypeError for a bad signal.
   */
  constructor(options: TaskGroupOptions = {}) {
    const { signal, limit = Number.POSITIVE_INFINITY } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
    }
    if (
      typeof limit !== 'number' ||
      !(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 1))
    ) {
      throw new RangeError(`limit must be a positive integer or Infinity, got ${describe(limit)}`);
    }
    this.#limit = limit;
    // Every task of a group may listen to its signal; Node would warn past ten listeners.
    setMaxListeners(0, this.#controller.signal);
    this.#parent = signal;
    if (signal?.aborted === true) this.#abort(signal.reason);
  }

  /** Aborted when the first task fails, the parent aborts, or the group is disposed. */
  get signal(): AbortSignal {
    this.#checkParent();
    return this.#controller.signal;
  }

  /** Whether the group has aborted. */
  get aborted(): boolean {
    this.#checkParent();
    return this.#controller.signal.aborted;
  }

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot under `limit`. */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Every failure so far, in the order it happened; the first is what `wait()` rejects with. */
  get errors(): readonly unknown[] {
    return this.#errors;
  }

  /**
   * Runs `fn(group.signal)` as a member of the group, now or (under `limit`) when a slot frees.
   * Once the group has aborted, `fn` still runs, with the aborted signal (errgroup's `Go`).
   * @throws TypeError if `fn` is not a function.
   */
  go(fn: GroupTask): void {
    assertTask(fn);
    this.#checkParent();
    if (this.#active < this.#limit) this.#start(fn);
    else this.#queue.push(fn);
  }

  /**
   * Runs `fn` only if a slot is free now (errgroup's `TryGo`).
   * @returns false when `limit` tasks are running.
   * @throws TypeError if `fn` is not a function.
   */
  tryGo(fn: GroupTask): boolean {
    assertTask(fn);
    this.#checkParent();
    if (this.#active >= this.#limit) return false;
    this.#start(fn);
    return true;
  }

  /**
   * Waits for every started task to settle.
   * @returns resolves when all succeeded; rejects with the first error (or the parent's abort reason).
   */
  async wait(): Promise<void> {
    if (this.#active > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    if (this.aborted) throw this.#errors[0] ?? this.#controller.signal.reason;
  }

  /**
   * Aborts the group with an {@link AbortedError} if it has work, then waits for every task to
   * settle. Failures are not rethrown: disposal is cleanup. Idempotent and memoised.
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposing ??= this.#dispose();
    return this.#disposing;
  }

  async #dispose(): Promise<void> {
    if (this.#active > 0 || this.queued > 0) this.#abort(new AbortedError('The task group was disposed'));
    await this.wait().catch(() => undefined);
  }

  #start(fn: GroupTask): void {
    this.#active++;
    this.#listenToParent();
    let result: unknown;
    try {
      result = fn(this.signal);
    } catch (error) {
      this.#fail(error);
      this.#finish();
      return;
    }
    Promise.resolve(result).then(
      () => this.#finish(),
      (error: unknown) => {
        this.#fail(error);
        this.#finish();
      },
    );
  }

  #fail(error: unknown): void {
    this.#errors.push(error);
    if (this.#errors.length === 1) this.#abort(error);
  }

  #abort(reason: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(reason);
  }

  #finish(): void {
    this.#active--;
    const next = this.#nextQueued();
    if (next !== undefined) return this.#start(next);
    if (this.#active > 0) return;
    this.#stopListening();
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }

  #nextQueued(): GroupTask | undefined {
    if (this.#queueHead >= this.#queue.length) return undefined;
    const next = this.#queue[this.#queueHead];
    this.#queue[this.#queueHead++] = undefined as never;
    // Compact once the consumed prefix dominates, so push/shift stay amortized O(1).
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
    return next;
  }

  /**
   * The parent is only listened to while the group has work (so that any number of idle child
   * groups cost a long-lived parent nothing); an abort that came while the group was idle is
   * caught up on whenever the group is used or looked at.
   */
  #checkParent(): void {
    if (this.#parent?.aborted === true && !this.#controller.signal.aborted) this.#abort(this.#parent.reason);
  }

  /** @internal Parent aborts → the group aborts. Listened to while the group has work only. */
  handleEvent(): void {
    this.#abort((this.#parent as AbortSignal).reason);
  }

  #listenToParent(): void {
    if (this.#listening || this.#parent === undefined) return;
    this.#listening = true;
    this.#parent.addEventListener('abort', this, { once: true });
  }

  #stopListening(): void {
    if (!this.#listening) return;
    this.#listening = false;
    this.#parent?.removeEventListener('abort', this);
  }
}

function assertTask(fn: unknown): asserts fn is GroupTask {
  if (typeof fn !== 'function') throw new TypeError(`fn must be a function, got ${describe(fn)}`);
}
