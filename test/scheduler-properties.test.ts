import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// Internal to the package (not exported), so imported from its source.
import { resolveResources, resolveTenants } from '../src/scheduler/options.js';
import { Scheduler, type Place } from '../src/scheduler/scheduler.js';

/*
 * Property tests of the scheduler (#13): random mixes of submissions (tenants listed and not,
 * priorities, GPU needs), starts, ends, aborts at any point and changes of the GPU's units,
 * checked after every step against what the contract says. Fixed seeds: a failure prints its
 * seed and shrunk counterexample, and replays exactly.
 */

const TENANTS = ['a', 'b', 'c', 'x'] as const;
const CAPS: Record<string, number> = { a: 2, b: 1 };
const SLOTS = 4;

interface Run {
  readonly id: number;
  readonly tenant: string;
  readonly priority: number;
  /** GPU units it needs: 0, 1 or 2. */
  readonly gpu: number;
  state: 'waiting' | 'running' | 'ended' | 'aborted';
  place: Place<Run>;
}

type Command =
  | { kind: 'submit'; tenant: string; priority: number; gpu: number }
  | { kind: 'start' }
  | { kind: 'end'; pick: number }
  | { kind: 'abort'; pick: number }
  | { kind: 'gpu'; units: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      tenant: fc.constantFrom(...TENANTS),
      priority: fc.constantFrom(-1, 0, 0, 2),
      gpu: fc.constantFrom(0, 0, 1, 1, 2),
    }),
    weight: 5,
  },
  { arbitrary: fc.constant({ kind: 'start' as const }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('end' as const), pick: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('gpu' as const), units: fc.integer({ min: 1, max: 2 }) }),
    weight: 1,
  },
);

class Check {
  readonly scheduler: Scheduler<Run>;
  readonly runs: Run[] = [];
  readonly starts: Run[] = [];

  constructor() {
    const tenants = resolveTenants({ a: { maxInFlight: 2 }, b: { maxInFlight: 1, weight: 2 }, c: {} }, []);
    this.scheduler = new Scheduler(tenants, resolveResources({ gpu: 2 }, []));
  }

  get waiting(): Run[] {
    return this.runs.filter((run) => run.state === 'waiting');
  }

  get running(): Run[] {
    return this.runs.filter((run) => run.state === 'running');
  }

  apply(cmd: Command): void {
    const { scheduler } = this;
    switch (cmd.kind) {
      case 'submit': {
        const needs = scheduler.needsOf({ gpu: cmd.gpu }, false);
        const { tenant, priority, gpu } = cmd;
        const run = { id: this.runs.length, tenant, priority, gpu, state: 'waiting' } as Omit<
          Run,
          'place'
        > as Run;
        run.place = scheduler.enqueue(run, tenant, priority, needs, 0);
        this.runs.push(run);
        break;
      }
      case 'start':
        if (this.running.length < SLOTS) this.#start();
        break;
      case 'end': {
        const running = this.running;
        const run = running[cmd.pick % Math.max(1, running.length)];
        if (run === undefined) break;
        run.state = 'ended';
        scheduler.finished(run.place);
        break;
      }
      case 'abort': {
        const run = this.runs[cmd.pick % Math.max(1, this.runs.length)];
        if (run === undefined) break;
        const wasWaiting = run.state === 'waiting';
        expect(scheduler.remove(run.place)).toBe(wasWaiting);
        if (wasWaiting) run.state = 'aborted';
        break;
      }
      case 'gpu':
        scheduler.setResourceLimit('gpu', cmd.units);
        break;
    }
    this.#invariants();
  }

  /** Starts what the scheduler names, checking the start against the contract. */
  #start(): Run | undefined {
    const { scheduler } = this;
    const roomBefore = new Map<string, number>(TENANTS.map((t) => [t, this.#room(t)]));
    const place = scheduler.next();
    if (place === undefined) {
      // Work-conserving: nothing may start only if every waiting run is held by its tenant's
      // cap or by the GPU's units (no barging: a GPU run also waits behind one that needs more
      // units than are free).
      const gpu = scheduler.resourceStats('gpu');
      const free = gpu === undefined ? 0 : gpu.limit - gpu.inUse;
      const gpuBlocked = this.waiting.some((other) => other.gpu > free);
      for (const run of this.waiting) {
        const heldByCap = (roomBefore.get(run.tenant) ?? 0) <= 0;
        const heldByGpu = run.gpu > 0 && gpuBlocked;
        expect(heldByCap || heldByGpu, `run ${run.id} could start`).toBe(true);
      }
      return undefined;
    }
    const run = place.value;
    expect(run.state).toBe('waiting');
    // Priority first: no plain run of a tenant with room waited at a higher priority.
    for (const other of this.waiting) {
      if (other.gpu > 0 || other === run || (roomBefore.get(other.tenant) ?? 0) <= 0) continue;
      expect(other.priority, `run ${other.id} outranks run ${run.id}`).toBeLessThanOrEqual(run.priority);
    }
    // FIFO within a tenant, a priority and the same needs.
    for (const other of this.waiting) {
      if (other === run) continue;
      if (other.tenant === run.tenant && other.priority === run.priority && other.gpu === run.gpu)
        expect(other.id, `run ${other.id} was submitted before run ${run.id}`).toBeGreaterThan(run.id);
    }
    run.state = 'running';
    this.starts.push(run);
    const gpu = scheduler.resourceStats('gpu');
    if (run.gpu > 0) expect(gpu?.inUse ?? 0).toBeLessThanOrEqual(gpu?.limit ?? 0);
    return run;
  }

  #room(tenant: string): number {
    const running = this.running.filter((run) => run.tenant === tenant).length;
    return (CAPS[tenant] ?? Number.POSITIVE_INFINITY) - running;
  }

  #invariants(): void {
    const { scheduler } = this;
    expect(scheduler.waiting).toBe(this.waiting.length);
    for (const tenant of TENANTS) {
      const running = this.running.filter((run) => run.tenant === tenant).length;
      expect(running).toBeLessThanOrEqual(CAPS[tenant] ?? Number.POSITIVE_INFINITY);
      const known = scheduler.tenants.find(tenant);
      expect(known?.running ?? 0).toBe(running);
      expect(known?.waiting ?? 0).toBe(this.waiting.filter((run) => run.tenant === tenant).length);
    }
    const gpu = scheduler.resourceStats('gpu');
    const units = this.running.reduce((sum, run) => sum + run.gpu, 0);
    expect(gpu?.inUse).toBe(units);
    expect(gpu?.waiting).toBe(this.waiting.filter((run) => run.gpu > 0).length);
  }

  /** Ends everything: every waiting run must start (liveness), then the structure is empty. */
  drain(): void {
    this.scheduler.setResourceLimit('gpu', 2);
    for (let guard = 0; this.waiting.length > 0 || this.running.length > 0; guard++) {
      expect(guard).toBeLessThan(10_000);
      while (this.running.length < SLOTS && this.#start() !== undefined);
      if (this.running.length === 0) expect.fail(`${this.waiting.length} runs wait and none may start`);
      this.apply({ kind: 'end', pick: 0 });
    }
    const ids = this.starts.map((run) => run.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(this.runs.every((run) => run.state === 'ended' || run.state === 'aborted')).toBe(true);
    expect(this.starts.length).toBe(this.runs.filter((run) => run.state === 'ended').length);
    expect(this.scheduler.startable).toBe(0);
    expect([...this.scheduler.tenants.all].map((t) => t.name).sort()).toEqual(['a', 'b', 'c']);
  }
}

describe('scheduler properties (#13)', () => {
  it('every run starts once or is aborted; caps, priority and FIFO hold at every start; nothing is left', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 120 }), (commands) => {
        const check = new Check();
        for (const cmd of commands) check.apply(cmd);
        check.drain();
      }),
      { seed: 1304, numRuns: 400 },
    );
  });

  it('aborts at any point leave the counts right and never start the aborted run', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(command, fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() })), {
          maxLength: 80,
        }),
        (commands) => {
          const check = new Check();
          for (const cmd of commands) check.apply(cmd);
          const aborted = check.runs.filter((run) => run.state === 'aborted');
          check.drain();
          expect(aborted.every((run) => !check.starts.includes(run))).toBe(true);
        },
      ),
      { seed: 1313, numRuns: 300 },
    );
  });
});
