/**
 * The engine's end of task metrics: what the worker module declares, learnt from the first
 * thread's hello, and the samples threads send with answers and chunks, passed on to whoever
 * exports them (the orchestrator's telemetry), or dropped when nobody does.
 * @internal
 * @module
 */
import type { ControlPortHello, MetricsDelta } from '../pool/protocol.js';

/** Where task metrics go: what the module declares, then every delta. @internal */
export interface TaskMetricsSink {
  declare(declared: ControlPortHello['metrics']): void;
  record(delta: MetricsDelta): void;
}

/** Deltas kept while no thread has said what the module declares (normally none arrive then). */
const MAX_EARLY = 1024;

/** @internal */
export class TaskMetricsRelay {
  #sink: TaskMetricsSink | undefined;
  /** What the module declares, once a thread has said. */
  #declared: ControlPortHello['metrics'] | undefined;
  /** Deltas that came before any hello. */
  #early: MetricsDelta[] | undefined;

  /** Sets where task metrics go; it is told at once what the module declares, if known. */
  observe(sink: TaskMetricsSink): void {
    this.#sink = sink;
    if (this.#declared !== undefined) sink.declare(this.#declared);
  }

  /**
   * What a thread declares, from its hello or its first answer carrying metrics, whichever comes
   * first: the first one says what the module declares (every thread says the same).
   */
  hello(declared: ControlPortHello['metrics']): void {
    if (this.#declared !== undefined) return;
    this.#declared = declared;
    this.#sink?.declare(declared);
    for (const delta of this.#early?.splice(0) ?? []) this.record(delta);
  }

  /** Samples a thread sent with an answer or a chunk. */
  record(delta: MetricsDelta): void {
    if (this.#sink === undefined) return;
    // A thread posts its hello before any answer, but on another port: should an answer be read
    // first, its samples wait for the declarations instead of being dropped.
    if (this.#declared === undefined) {
      this.#early ??= [];
      if (this.#early.length < MAX_EARLY) this.#early.push(delta);
      return;
    }
    this.#sink.record(delta);
  }
}
