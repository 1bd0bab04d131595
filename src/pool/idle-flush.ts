import { performance } from 'node:perf_hooks';
import { flushTracerProviders } from '../worker/tracer-provider.js';

/** How long a thread must be idle before it flushes, in ms (at most half its idle timeout). */
const IDLE_FLUSH_MS = 200;

/**
 * Flushes the tracer providers a worker module registered once the thread has been idle for a
 * moment. Piscina terminates an idle thread without warning after its idle timeout, so spans a
 * batching span processor still holds would be lost with it; under load the processor's own
 * batching is left alone. The runner tells it about tasks only while a provider is registered.
 * @internal
 */
export class IdleFlush {
  readonly #delayMs: number;
  #running = 0;
  #lastEnd = 0;
  #timer: NodeJS.Timeout | undefined;

  /** @param idleTimeoutMs - the pool's idle timeout (Infinity: never). */
  constructor(idleTimeoutMs: number) {
    this.#delayMs = Math.min(IDLE_FLUSH_MS, idleTimeoutMs / 2);
  }

  /** A task started. */
  began(): void {
    this.#running++;
  }

  /** A task ended: arm the flush. */
  ended(): void {
    this.#running--;
    this.#lastEnd = performance.now();
    if (this.#timer === undefined) this.#timer = this.#arm(this.#delayMs);
  }

  #arm(ms: number): NodeJS.Timeout {
    // The pool keeps the thread alive while it may get work; this timer never should.
    return setTimeout(() => this.#check(), ms).unref();
  }

  #check(): void {
    this.#timer = undefined;
    // Busy again: the end of that task arms it anew.
    if (this.#running > 0) return;
    const idleFor = performance.now() - this.#lastEnd;
    if (idleFor < this.#delayMs) this.#timer = this.#arm(this.#delayMs - idleFor);
    else void flushTracerProviders();
  }
}
