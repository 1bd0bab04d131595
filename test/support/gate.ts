/**
 * Shared-memory handshakes with the `gate`/`awaitAbort` fixture tasks: the worker bumps cell 0
 * when it starts; the test sets cell 1 to let it finish. Deterministic across threads, no sleeps.
 */
export class Gate {
  readonly shared = new SharedArrayBuffer(8);
  readonly #cells = new Int32Array(this.shared);

  /** How many tasks have started on this gate. */
  get started(): number {
    return Atomics.load(this.#cells, 0);
  }

  /** Resolves once `count` tasks have started. */
  async waitStarted(count = 1): Promise<void> {
    for (;;) {
      const seen = Atomics.load(this.#cells, 0);
      if (seen >= count) return;
      const result = Atomics.waitAsync(this.#cells, 0, seen);
      if (result.async) await result.value;
    }
  }

  /** Lets every task on this gate finish. */
  release(): void {
    Atomics.store(this.#cells, 1, 1);
    Atomics.notify(this.#cells, 1);
  }
}
