import fc from 'fast-check';
import type { MapRecord, Orchestrator } from 'node-orchestrator';
import { Gate } from './gate.js';
import { until } from './poll.js';
import { Concurrency, StartLog } from './probe.js';

/*
 * Random mixes of what callers do to an orchestrator, and the checks every mix must pass: the
 * property test (test/orchestrator-interleavings.test.ts) and the soak (test/soak/) both drive it.
 * Tasks are `probe`s that log their start and count themselves in shared memory, so the checks
 * read what the workers really did.
 */

/** How a run is cancelled: not at all, with a signal aborted before it is submitted, right after (queued or staged), or once its task is running. */
export type AbortMode = 'none' | 'before' | 'after-submit' | 'running';

/** One thing a caller does. */
export type Op =
  | {
      readonly kind: 'run';
      readonly priority: number;
      /** Held on a gate of its own until a `release` op (or the end). */
      readonly hold: boolean;
      readonly abort: AbortMode;
      /** A deadline; such a run is held until it has timed out. */
      readonly timeoutMs: number | undefined;
    }
  | { readonly kind: 'crash' }
  | { readonly kind: 'map'; readonly size: number; readonly priority: number }
  | { readonly kind: 'resize'; readonly to: number }
  | { readonly kind: 'release' }
  | { readonly kind: 'close' };

/** A run op, made consistent: a deadline or a cancel while running needs a task that holds. */
const runOp = fc
  .record({
    priority: fc.integer({ min: 0, max: 2 }),
    hold: fc.boolean(),
    abort: fc.constantFrom<AbortMode>('none', 'none', 'before', 'after-submit', 'running'),
    timeoutMs: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 20 }) },
    ),
  })
  .map(({ priority, hold, abort, timeoutMs }): Op => ({
    kind: 'run',
    priority,
    hold: hold || abort === 'running' || timeoutMs !== undefined,
    abort: timeoutMs === undefined ? abort : 'none',
    timeoutMs,
  }));

/** Ops in the proportions a busy caller might produce them. */
export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: runOp },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'crash' }) },
  {
    weight: 2,
    arbitrary: fc
      .record({ size: fc.integer({ min: 1, max: 6 }), priority: fc.integer({ min: 0, max: 2 }) })
      .map(({ size, priority }): Op => ({ kind: 'map', size, priority })),
  },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }).map((to): Op => ({ kind: 'resize', to })) },
  { weight: 3, arbitrary: fc.constant<Op>({ kind: 'release' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'close' }) },
);

/** A short label for an op, for scheduler reports. */
export function describeOp(op: Op): string {
  switch (op.kind) {
    case 'run':
      return `run(p${op.priority}${op.hold ? ', held' : ''}${op.abort === 'none' ? '' : `, abort ${op.abort}`}${op.timeoutMs === undefined ? '' : `, timeout ${op.timeoutMs}`})`;
    case 'map':
      return `map(${op.size} items, p${op.priority})`;
    case 'resize':
      return `resize(${op.to})`;
    default:
      return op.kind;
  }
}

interface TrackedRun {
  readonly n: number;
  readonly op: Op;
  readonly gate: Gate | undefined;
  readonly controller: AbortController;
  readonly reason: Error;
  readonly closedAtSubmit: boolean;
  settles: number;
  result: PromiseSettledResult<unknown> | undefined;
  readonly promise: Promise<unknown>;
}

interface TrackedMap {
  readonly first: number;
  readonly size: number;
  readonly closedAtSubmit: boolean;
  readonly records: MapRecord[];
  done: Promise<unknown>;
  ended: { ok: true } | { ok: false; error: unknown } | undefined;
}

/** A map item's `n`: far from the runs' so the start log tells them apart. */
const MAP_BASE = 1_000_000;

const CLOSED_CODES = new Set(['ERR_CLOSED', 'ERR_ABORTED']);

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

/**
 * One mix of ops against one orchestrator, and everything it must guarantee. `execute` is
 * synchronous (the caller decides the interleaving); `finish` drives what is left to its end and
 * returns the violations found (empty when every guarantee held).
 */
export class Scenario {
  readonly count = new Concurrency();
  readonly log: StartLog;
  readonly runs: TrackedRun[] = [];
  readonly maps: TrackedMap[] = [];
  /** Every limit in force during the scenario. */
  readonly limits: number[];
  /** Run `n`s in the order they were submitted. */
  readonly submitted: number[] = [];
  readonly #orchestrator: Orchestrator;
  /** Held runs a `release` op may let go, oldest first. */
  readonly #releasable: Gate[] = [];
  #closing: Promise<void> | undefined;
  #nextMapItem = MAP_BASE;

  constructor(orchestrator: Orchestrator, logCapacity = 4096) {
    this.#orchestrator = orchestrator;
    this.log = new StartLog(logCapacity);
    this.limits = [orchestrator.limit];
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Does op number `index`, synchronously. */
  execute(index: number, op: Op): void {
    const orchestrator = this.#orchestrator;
    switch (op.kind) {
      case 'run':
        return this.#run(index, op);
      case 'crash':
        return this.#track(index, op, undefined, () => orchestrator.run('exit', 1));
      case 'map':
        return this.#map(op.size, op.priority);
      case 'resize':
        this.limits.push(orchestrator.resize(op.to));
        return;
      case 'release':
        this.#releasable.shift()?.release();
        return;
      case 'close':
        this.#closing ??= orchestrator.close();
        return;
    }
  }

  #run(n: number, op: Extract<Op, { kind: 'run' }>): void {
    const gate = op.hold ? new Gate() : undefined;
    if (gate !== undefined && op.abort !== 'running' && op.timeoutMs === undefined)
      this.#releasable.push(gate);
    this.#track(n, op, gate, (signal) => {
      const input = { n, count: this.count.shared, order: this.log.shared, shared: gate?.shared };
      return this.#orchestrator.run('probe', input, {
        priority: op.priority,
        signal,
        timeoutMs: op.timeoutMs,
      });
    });
  }

  #track(n: number, op: Op, gate: Gate | undefined, submit: (signal: AbortSignal) => Promise<unknown>): void {
    const controller = new AbortController();
    const reason = new Error(`abort ${n}`);
    const abort = op.kind === 'run' ? op.abort : 'none';
    if (abort === 'before') controller.abort(reason);
    const closedAtSubmit = this.closed;
    if (op.kind === 'run') this.submitted.push(n);
    const promise = submit(controller.signal);
    if (abort === 'after-submit') controller.abort(reason);
    const run: TrackedRun = {
      n,
      op,
      gate,
      controller,
      reason,
      closedAtSubmit,
      settles: 0,
      result: undefined,
      promise,
    };
    promise.then(
      (value: unknown) => {
        run.settles++;
        run.result = { status: 'fulfilled', value };
      },
      (error: unknown) => {
        run.settles++;
        run.result = { status: 'rejected', reason: error };
      },
    );
    this.runs.push(run);
  }

  #map(size: number, priority: number): void {
    const first = this.#nextMapItem;
    this.#nextMapItem += size;
    const inputs = Array.from({ length: size }, (_, i) => ({
      n: first + i,
      count: this.count.shared,
      order: this.log.shared,
    }));
    const tracked: TrackedMap = {
      first,
      size,
      closedAtSubmit: this.closed,
      records: [],
      ended: undefined,
      done: Promise.resolve(),
    };
    tracked.done = (async () => {
      try {
        for await (const record of this.#orchestrator.map('probe', inputs, { priority }))
          tracked.records.push(record);
        tracked.ended = { ok: true };
      } catch (error) {
        tracked.ended = { ok: false, error };
      }
    })();
    this.maps.push(tracked);
  }

  /** Lets every held task go (for cleanup after a failure). */
  releaseAll(): void {
    for (const run of this.runs) run.gate?.release();
  }

  /**
   * Drives every run and map to its end (cancelling the "abort while running" runs once they
   * run), closes the orchestrator if `close`, and checks every guarantee.
   */
  async finish(close = true): Promise<string[]> {
    for (const gate of this.#releasable.splice(0)) gate.release();
    await this.#abortRunning();
    // Runs with a deadline hold until they have timed out; release them only then.
    await Promise.allSettled(
      this.runs.filter((r) => r.op.kind === 'run' && r.op.timeoutMs).map((r) => r.promise),
    );
    this.releaseAll();
    await Promise.allSettled(this.runs.map((run) => run.promise));
    await Promise.all(this.maps.map((map) => map.done));
    const violations = this.#check();
    const orchestrator = this.#orchestrator;
    if (!this.closed) {
      if (orchestrator.inFlight !== 0 || orchestrator.queued !== 0)
        violations.push(
          `after every run settled: inFlight ${orchestrator.inFlight}, queued ${orchestrator.queued}`,
        );
      violations.push(...(await this.#noSlotLeaked()));
    }
    if (close || this.closed) {
      this.#closing ??= orchestrator.close();
      await this.#closing;
      if (orchestrator.threads !== 0) violations.push(`${orchestrator.threads} threads alive after close()`);
      const late = await orchestrator.run('probe', { n: -1 }).then(
        () => 'resolved',
        (error: unknown) => codeOf(error),
      );
      if (late !== 'ERR_CLOSED') violations.push(`a run after close() ended ${String(late)}, not ERR_CLOSED`);
    }
    return violations;
  }

  /** Aborts each "abort while running" run once its task has started. */
  async #abortRunning(): Promise<void> {
    let pending = this.runs.filter((r) => r.op.kind === 'run' && r.op.abort === 'running');
    while (pending.length > 0) {
      await until(() => pending.some((r) => r.settles > 0 || (r.gate?.started ?? 0) > 0));
      for (const run of pending) if ((run.gate?.started ?? 0) > 0) run.controller.abort(run.reason);
      pending = pending.filter((r) => r.settles === 0 && !r.controller.signal.aborted);
    }
  }

  /**
   * Every slot is free again: as many held tasks as the limit all start at once. (A leaked slot
   * leaves one waiting forever: the caller's timeout is the failure.)
   */
  async #noSlotLeaked(): Promise<string[]> {
    const orchestrator = this.#orchestrator;
    const gate = new Gate();
    const limit = orchestrator.limit;
    let settled = 0;
    // Each its own priority, so that coalesced runs do not share a batch (and so a thread).
    const held = Array.from({ length: limit }, (_, i) =>
      orchestrator
        .run('probe', { n: -2 - i, shared: gate.shared }, { priority: i })
        .then(
          () => undefined,
          (error: unknown) => `a held probe after the mix failed: ${String(error)}`,
        )
        .finally(() => settled++),
    );
    await until(() => gate.started === limit || settled === limit);
    gate.release();
    return (await Promise.all(held)).filter((problem) => problem !== undefined);
  }

  #check(): string[] {
    const violations: string[] = [];
    const started = this.log.entries();
    const startsOf = new Map<number, number>();
    for (const n of started) startsOf.set(n, (startsOf.get(n) ?? 0) + 1);
    for (const [n, times] of startsOf)
      if (times > 1 && n >= 0) violations.push(`task ${n} started ${times} times`);
    for (const run of this.runs) violations.push(...this.#checkRun(run, startsOf.get(run.n) ?? 0));
    for (const map of this.maps) violations.push(...this.#checkMap(map));
    const most = Math.max(...this.limits);
    if (this.count.max > most)
      violations.push(`${this.count.max} tasks ran at once; the limit never exceeded ${most}`);
    // With one slot throughout, tasks start one at a time, so within a priority the start order is
    // the submission order.
    if (most === 1) violations.push(...this.#checkOrder(started));
    return violations;
  }

  #checkRun(run: TrackedRun, starts: number): string[] {
    const label = `${run.op.kind} ${run.n} (${describeOp(run.op)})`;
    if (run.settles !== 1) return [`${label} settled ${run.settles} times`];
    const result = run.result!;
    const error = result.status === 'rejected' ? (result.reason as unknown) : undefined;
    const got =
      result.status === 'fulfilled' ? `value ${String(result.value)}` : (codeOf(error) ?? String(error));
    const wrong = (expected: string): string[] => [`${label} ended with ${got}, expected ${expected}`];
    const op = run.op;
    if (run.closedAtSubmit) {
      if (starts > 0) return [`${label} was refused by close() but started`];
      return codeOf(error) === 'ERR_CLOSED' || error === run.reason ? [] : wrong('ERR_CLOSED');
    }
    if (op.kind === 'crash') return codeOf(error) === 'ERR_WORKER_CRASHED' ? [] : wrong('ERR_WORKER_CRASHED');
    if (op.kind !== 'run') return [];
    if (op.abort === 'before' && starts > 0)
      return [`${label} was aborted before it was submitted, but started`];
    if (op.abort !== 'none') return error === run.reason ? [] : wrong('its abort reason');
    if (op.timeoutMs !== undefined)
      return codeOf(error) === 'ERR_TASK_TIMEOUT' ? [] : wrong('ERR_TASK_TIMEOUT');
    if (result.status !== 'fulfilled' || result.value !== run.n) return wrong(`value ${run.n}`);
    return starts === 1 ? [] : [`${label} succeeded but started ${starts} times`];
  }

  #checkMap(map: TrackedMap): string[] {
    const label = `map of items ${map.first}..${map.first + map.size - 1}`;
    const ended = map.ended!;
    if (map.closedAtSubmit) {
      return !ended.ok && codeOf(ended.error) === 'ERR_CLOSED' && map.records.length === 0
        ? []
        : [`${label}, made after close(), was not refused with ERR_CLOSED`];
    }
    const violations: string[] = [];
    const seen = new Set<number>();
    for (const record of map.records) {
      if (seen.has(record.index)) violations.push(`${label}: index ${record.index} yielded twice`);
      seen.add(record.index);
      if (record.ok && record.value !== map.first + record.index)
        violations.push(`${label}: index ${record.index} gave ${String(record.value)}`);
      if (!record.ok && !(this.closed && CLOSED_CODES.has(codeOf(record.error) ?? '')))
        violations.push(
          `${label}: index ${record.index} failed with ${codeOf(record.error) ?? record.error.message}`,
        );
    }
    if (!this.closed) {
      if (!ended.ok) violations.push(`${label} rejected with ${String(ended.error)}`);
      if (seen.size !== map.size) violations.push(`${label} yielded ${seen.size} of ${map.size} records`);
    } else if (!ended.ok && !CLOSED_CODES.has(codeOf(ended.error) ?? '')) {
      violations.push(`${label} rejected with ${String(ended.error)}`);
    }
    return violations;
  }

  #checkOrder(started: readonly number[]): string[] {
    const position = new Map(this.submitted.map((n, i) => [n, i]));
    const priorityOf = new Map(
      this.runs.map((run) => [run.n, run.op.kind === 'run' ? run.op.priority : undefined] as const),
    );
    const last = new Map<number, number>();
    const violations: string[] = [];
    for (const n of started) {
      const priority = priorityOf.get(n);
      const at = position.get(n);
      if (priority === undefined || at === undefined) continue;
      const before = last.get(priority);
      if (before !== undefined && at < before)
        violations.push(
          `run ${n} (priority ${priority}) started after a run of its priority submitted later`,
        );
      last.set(priority, Math.max(before ?? at, at));
    }
    return violations;
  }
}
