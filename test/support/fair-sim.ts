/**
 * A discrete-event model of a pool of `slots` threads in front of the real {@link Scheduler}, on
 * an injected (virtual) clock: runs take the time they are given, a free slot starts whatever
 * the scheduler names, and nothing sleeps. The scheduler is the engine's own; only the threads
 * are modelled.
 */
// Internal to the package (not exported), so imported from its source.
import { resolveResources, resolveTenants } from '../../src/scheduler/options.js';
import { Scheduler, type Place } from '../../src/scheduler/scheduler.js';
import type { TenantOptions } from '../../src/scheduler/tenants.js';

/** One run in the model. */
export interface SimRun {
  readonly id: number;
  readonly tenant: string | undefined;
  readonly priority: number;
  readonly duration: number;
  readonly submittedAt: number;
  readonly needs: Readonly<Record<string, number>> | undefined;
  startedAt?: number;
}

/** What to submit. */
export interface SimSubmit {
  readonly tenant?: string | undefined;
  readonly count?: number | undefined;
  /** Time each run takes, or one per run. @default 1 */
  readonly duration?: number | ((index: number) => number) | undefined;
  readonly priority?: number | undefined;
  readonly needs?: Readonly<Record<string, number>> | undefined;
}

/** The model. */
export class FairSim {
  now = 0;
  readonly scheduler: Scheduler<SimRun>;
  /** Every run started, in start order. */
  readonly started: SimRun[] = [];
  readonly #slots: number;
  readonly #running: { end: number; place: Place<SimRun> }[] = [];
  #nextId = 0;

  constructor(options: {
    slots: number;
    tenants?: Record<string, TenantOptions> | undefined;
    resources?: Record<string, number> | undefined;
  }) {
    const issues: unknown[] = [];
    const tenants = resolveTenants(options.tenants, issues as never);
    const resources = resolveResources(options.resources, issues as never);
    if (issues.length > 0) throw new Error(`bad model options: ${JSON.stringify(issues)}`);
    this.scheduler = new Scheduler(tenants, resources);
    this.#slots = options.slots;
  }

  /** Runs running now. */
  get running(): number {
    return this.#running.length;
  }

  /** Submits runs now; returns them. */
  submit(options: SimSubmit): SimRun[] {
    const { tenant, count = 1, duration = 1, priority = 0, needs } = options;
    const runs: SimRun[] = [];
    for (let i = 0; i < count; i++) {
      const run: SimRun = {
        id: this.#nextId++,
        tenant,
        priority,
        duration: typeof duration === 'function' ? duration(i) : duration,
        submittedAt: this.now,
        needs,
      };
      this.scheduler.enqueue(run, tenant, priority, this.scheduler.needsOf(needs, false), this.now);
      runs.push(run);
    }
    this.#fill();
    return runs;
  }

  /** Lets time pass until `until`, ending runs and starting others on the freed slots. */
  runUntil(until: number): void {
    this.#fill();
    for (;;) {
      const next = this.#running.reduce<number | undefined>(
        (min, r) => (min === undefined || r.end < min ? r.end : min),
        undefined,
      );
      if (next === undefined || next > until) break;
      this.now = next;
      for (const run of this.#running.filter((r) => r.end === next)) {
        this.#running.splice(this.#running.indexOf(run), 1);
        this.scheduler.finished(run.place);
      }
      this.#fill();
    }
    this.now = Math.max(this.now, until);
  }

  /** Lets time pass until `predicate()` holds after an event (or nothing is left to run). */
  runWhile(predicate: () => boolean): void {
    while (predicate() && this.#running.length > 0) {
      const next = Math.min(...this.#running.map((r) => r.end));
      this.runUntil(next);
    }
  }

  #fill(): void {
    while (this.#running.length < this.#slots) {
      const place = this.scheduler.next();
      if (place === undefined) return;
      place.value.startedAt = this.now;
      this.started.push(place.value);
      this.#running.push({ end: this.now + place.value.duration, place });
    }
  }
}

/** Jain's fairness index of `values`: 1 when all are equal, 1/n when one has everything. */
export function jain(values: readonly number[]): number {
  const sum = values.reduce((a, b) => a + b, 0);
  const squares = values.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (values.length * squares);
}

/** The nearest-rank percentile of `values` (p in (0, 1]). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

/** Starts per tenant among `runs`. */
export function countBy(runs: readonly SimRun[], tenants: readonly string[]): number[] {
  return tenants.map((tenant) => runs.filter((run) => run.tenant === tenant).length);
}
