import { TaskGroup } from '../group/task-group.js';
import type { Lifecycle, Producer } from './lifecycle.js';

/**
 * The orchestrator's root {@link TaskGroup}, where `go` functions run, as a producer of the
 * lifecycle: close() waits for the functions until its deadline, then aborts the group. It does
 * not wait for them after that: a function on the main thread that ignores its signal cannot be
 * stopped, and close() must not hang on it.
 * @internal
 */
export class RootGroup implements Producer {
  readonly #controller = new AbortController();
  readonly group = new TaskGroup({ signal: this.#controller.signal });
  readonly #lifecycle: Lifecycle;
  #watching = false;

  constructor(lifecycle: Lifecycle) {
    this.#lifecycle = lifecycle;
    lifecycle.register(this);
  }

  /** Runs `fn` in the group; the lifecycle hears when the group has nothing left running. */
  go(fn: (signal: AbortSignal) => unknown): void {
    this.group.go(fn);
    if (this.#watching || this.group.active === 0) return;
    this.#watching = true;
    void this.group
      .wait()
      .catch(() => undefined)
      .finally(() => {
        this.#watching = false;
        this.#lifecycle.changed();
      });
  }

  get idle(): boolean {
    return this.group.active === 0;
  }

  readonly waitAfterCancel = false;

  closing(): void {}

  cancel(reason: unknown): void {
    this.#controller.abort(reason);
  }
}
