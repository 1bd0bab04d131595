import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveLimiter, TaskGroup, type Permit } from 'node-orchestrator';
import { flushMicrotasks } from './support/deferred.js';

/*
 * Property tests of the main-thread primitives (#11, "Tests that explore interleavings"). Fixed
 * seeds: a failure prints its seed and shrunk counterexample, and replays exactly.
 */

// --- AdaptiveLimiter against a model, command by command -------------------------------------

interface Waiting {
  readonly id: number;
  readonly priority: number;
}

/** What the limiter must be doing, by its contract. */
interface LimiterModel {
  limit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly held: number[];
  /** Waiters in grant order: higher priority first, arrival order within a priority. */
  readonly queue: Waiting[];
  readonly state: Map<number, 'waiting' | 'held' | 'released' | 'rejected'>;
  /** Ids in the order the model granted them. */
  readonly grants: number[];
  nextId: number;
}

interface Entry {
  readonly controller: AbortController;
  readonly reason: Error;
  permit: Permit | undefined;
  settles: number;
  rejectedWith: unknown;
}

interface LimiterReal {
  readonly limiter: AdaptiveLimiter;
  readonly entries: Map<number, Entry>;
  /** Ids in the order their acquire resolved. */
  readonly grants: number[];
}

function grantWaiters(model: LimiterModel): void {
  while (model.held.length < model.limit && model.queue.length > 0) {
    const { id } = model.queue.shift()!;
    model.held.push(id);
    model.state.set(id, 'held');
    model.grants.push(id);
  }
}

/** After every command: the limiter and the model agree on every waiter and every count. */
async function agree(model: LimiterModel, real: LimiterReal): Promise<void> {
  await flushMicrotasks();
  expect(real.limiter.limit).toBe(model.limit);
  expect(real.limiter.inFlight).toBe(model.held.length);
  expect(real.limiter.pending).toBe(model.queue.length);
  expect(real.grants).toEqual(model.grants);
  for (const [id, state] of model.state) {
    const entry = real.entries.get(id)!;
    const seen = {
      settles: entry.settles,
      granted: entry.permit !== undefined,
      released: entry.permit?.released ?? false,
    };
    if (state === 'waiting') expect(seen).toEqual({ settles: 0, granted: false, released: false });
    if (state === 'held') expect(seen).toEqual({ settles: 1, granted: true, released: false });
    if (state === 'released') expect(seen).toEqual({ settles: 1, granted: true, released: true });
    if (state === 'rejected') {
      expect(seen).toEqual({ settles: 1, granted: false, released: false });
      expect(entry.rejectedWith).toBe(entry.reason);
    }
  }
}

class Acquire implements fc.AsyncCommand<LimiterModel, LimiterReal> {
  constructor(
    readonly priority: number,
    readonly abortedBefore: boolean,
  ) {}
  check = (): boolean => true;
  async run(model: LimiterModel, real: LimiterReal): Promise<void> {
    const id = model.nextId++;
    const controller = new AbortController();
    const entry: Entry = {
      controller,
      reason: new Error(`abort ${id}`),
      permit: undefined,
      settles: 0,
      rejectedWith: undefined,
    };
    real.entries.set(id, entry);
    if (this.abortedBefore) controller.abort(entry.reason);
    // Attached directly, so the order these callbacks run in is the order of the grants.
    real.limiter.acquire({ signal: controller.signal, priority: this.priority }).then(
      (permit) => {
        entry.settles++;
        entry.permit = permit;
        real.grants.push(id);
      },
      (reason: unknown) => {
        entry.settles++;
        entry.rejectedWith = reason;
      },
    );
    if (this.abortedBefore) model.state.set(id, 'rejected');
    else if (model.held.length < model.limit && model.queue.length === 0) {
      model.held.push(id);
      model.state.set(id, 'held');
      model.grants.push(id);
    } else {
      const at = model.queue.findIndex((w) => w.priority < this.priority);
      model.queue.splice(at === -1 ? model.queue.length : at, 0, { id, priority: this.priority });
      model.state.set(id, 'waiting');
    }
    await agree(model, real);
  }
  toString = (): string => `acquire(priority ${this.priority}${this.abortedBefore ? ', aborted' : ''})`;
}

class TryAcquire implements fc.AsyncCommand<LimiterModel, LimiterReal> {
  check = (): boolean => true;
  async run(model: LimiterModel, real: LimiterReal): Promise<void> {
    const permit = real.limiter.tryAcquire();
    const free = model.held.length < model.limit && model.queue.length === 0;
    expect(permit !== undefined).toBe(free);
    if (permit !== undefined) {
      const id = model.nextId++;
      real.entries.set(id, {
        controller: new AbortController(),
        reason: new Error('unused'),
        permit,
        settles: 1,
        rejectedWith: undefined,
      });
      real.grants.push(id);
      model.held.push(id);
      model.state.set(id, 'held');
      model.grants.push(id);
    }
    await agree(model, real);
  }
  toString = (): string => 'tryAcquire()';
}

class Release implements fc.AsyncCommand<LimiterModel, LimiterReal> {
  constructor(
    readonly pick: number,
    readonly twice: boolean,
  ) {}
  check = (model: Readonly<LimiterModel>): boolean => model.held.length > 0;
  async run(model: LimiterModel, real: LimiterReal): Promise<void> {
    const [id] = model.held.splice(this.pick % model.held.length, 1) as [number];
    model.state.set(id, 'released');
    const permit = real.entries.get(id)!.permit!;
    permit.release();
    // A second release is a no-op: it must not free a second slot.
    if (this.twice) permit.release();
    grantWaiters(model);
    await agree(model, real);
  }
  toString = (): string => `release(#${this.pick}${this.twice ? ', twice' : ''})`;
}

class Abort implements fc.AsyncCommand<LimiterModel, LimiterReal> {
  constructor(readonly pick: number) {}
  check = (model: Readonly<LimiterModel>): boolean => model.nextId > 0;
  async run(model: LimiterModel, real: LimiterReal): Promise<void> {
    // Any acquire, in any state: aborting a granted or settled one must change nothing.
    const id = this.pick % model.nextId;
    const entry = real.entries.get(id)!;
    entry.controller.abort(entry.reason);
    if (model.state.get(id) === 'waiting') {
      model.queue.splice(
        model.queue.findIndex((w) => w.id === id),
        1,
      );
      model.state.set(id, 'rejected');
    }
    await agree(model, real);
  }
  toString = (): string => `abort(#${this.pick})`;
}

class Resize implements fc.AsyncCommand<LimiterModel, LimiterReal> {
  constructor(readonly to: number) {}
  check = (): boolean => true;
  async run(model: LimiterModel, real: LimiterReal): Promise<void> {
    model.limit = Math.min(model.maxLimit, Math.max(model.minLimit, this.to));
    expect(real.limiter.resize(this.to)).toBe(model.limit);
    grantWaiters(model);
    await agree(model, real);
  }
  toString = (): string => `resize(${this.to})`;
}

const limiterCommands = fc.commands(
  [
    fc.tuple(fc.integer({ min: -1, max: 2 }), fc.boolean()).map(([p, a]) => new Acquire(p, a)),
    fc.constant(new TryAcquire()),
    fc.tuple(fc.nat(), fc.boolean()).map(([pick, twice]) => new Release(pick, twice)),
    fc.nat().map((pick) => new Abort(pick)),
    fc.integer({ min: -1, max: 7 }).map((to) => new Resize(to)),
  ],
  { maxCommands: 60, size: 'max' },
);

describe('AdaptiveLimiter: random command sequences against its contract (property)', () => {
  it('#11 every waiter settles once, permits return once, never more than limit are granted, priority then FIFO order holds, aborts at any point', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 3, max: 6 }),
        limiterCommands,
        async (limit, maxLimit, commands) => {
          const model: LimiterModel = {
            limit,
            minLimit: 1,
            maxLimit,
            held: [],
            queue: [],
            state: new Map(),
            grants: [],
            nextId: 0,
          };
          const real: LimiterReal = {
            limiter: new AdaptiveLimiter({ limit, minLimit: 1, maxLimit }),
            entries: new Map(),
            grants: [],
          };
          await fc.asyncModelRun(() => ({ model, real }), commands);
          // Give everything back (waiters first, so releases grant nothing): the limiter empties.
          for (const { id } of model.queue) real.entries.get(id)!.controller.abort(new Error('end'));
          for (const id of model.held) real.entries.get(id)!.permit!.release();
          await flushMicrotasks();
          expect({ inFlight: real.limiter.inFlight, pending: real.limiter.pending }).toEqual({
            inFlight: 0,
            pending: 0,
          });
        },
      ),
      { numRuns: 150, seed: 1101 },
    );
  });
});

// --- AdaptiveLimiter.run under scheduled interleavings ------------------------------------------

const limiterJob = fc.record({
  priority: fc.integer({ min: 0, max: 2 }),
  abort: fc.constantFrom('none', 'before', 'scheduled'),
  fails: fc.boolean(),
});

describe('AdaptiveLimiter.run under random interleavings (fc.scheduler, property)', () => {
  it('#11 each run settles once as it should, at most limit run at once, queued runs start by priority then FIFO', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 3 }),
        fc.array(limiterJob, { maxLength: 14, size: 'max' }),
        fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 3 }),
        async (s, limit, jobs, grows) => {
          const limiter = new AdaptiveLimiter({ limit, minLimit: 1, maxLimit: 6 });
          const calls = jobs.map(() => 0);
          const settles = jobs.map(() => 0);
          const starts: number[] = [];
          const overLimit: string[] = [];
          let running = 0;
          const reasons = jobs.map((_, i) => new Error(`abort ${i}`));
          const failures = jobs.map((_, i) => new Error(`job ${i} failed`));
          const results = jobs.map((job, i) => {
            const controller = new AbortController();
            if (job.abort === 'before') controller.abort(reasons[i]);
            const result = limiter.run(
              async () => {
                calls[i]!++;
                starts.push(i);
                running++;
                // The limit only grows here, so it bounds every moment.
                if (running > limiter.limit) overLimit.push(`job ${i}: ${running} > ${limiter.limit}`);
                try {
                  await s.schedule(Promise.resolve(), `job ${i} ends`);
                  if (job.fails) throw failures[i]!;
                  return i;
                } finally {
                  running--;
                }
              },
              { signal: controller.signal, priority: job.priority },
            );
            if (job.abort === 'scheduled') {
              void s.schedule(Promise.resolve(), `abort ${i}`).then(() => controller.abort(reasons[i]));
            }
            void result.then(
              () => settles[i]!++,
              () => settles[i]!++,
            );
            return result;
          });
          for (const to of grows) {
            void s
              .schedule(Promise.resolve(), `grow to ${to}`)
              .then(() => limiter.resize(Math.max(limiter.limit, to)));
          }
          const outcomes = await s.waitFor(Promise.allSettled(results));
          await s.waitIdle();
          await flushMicrotasks();

          expect(overLimit).toEqual([]);
          expect(settles.every((n) => n === 1)).toBe(true);
          expect(calls.every((n) => n <= 1)).toBe(true);
          outcomes.forEach((outcome, i) => {
            const job = jobs[i]!;
            if (calls[i] === 0) {
              expect(job.abort).not.toBe('none');
              expect(outcome).toEqual({ status: 'rejected', reason: reasons[i] });
            } else if (job.fails) expect(outcome).toEqual({ status: 'rejected', reason: failures[i] });
            else expect(outcome).toEqual({ status: 'fulfilled', value: i });
          });
          // Every job was submitted before any slot freed: those beyond the first `limit` that
          // were admitted waited in one queue, so they start by priority, then in order.
          const queued = starts.slice(limit);
          const expected = [...queued].sort((a, b) => jobs[b]!.priority - jobs[a]!.priority || a - b);
          expect(queued).toEqual(expected);
          expect({ inFlight: limiter.inFlight, pending: limiter.pending }).toEqual({
            inFlight: 0,
            pending: 0,
          });
        },
      ),
      { numRuns: 300, seed: 1102 },
    );
  });
});

// --- TaskGroup under scheduled interleavings -------------------------------------------------------

const groupJob = fc.record({ fails: fc.boolean(), late: fc.boolean() });

describe('TaskGroup under random interleavings (fc.scheduler, property)', () => {
  it('#11 at most limit run, FIFO starts, every go() runs once (after the abort with an aborted signal), the first error wins, wait() joins all', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        fc.array(groupJob, { maxLength: 10, size: 'max' }),
        fc.boolean(),
        async (s, limit, jobs, parentAborts) => {
          const parent = new AbortController();
          const parentReason = new Error('parent aborted');
          const group = new TaskGroup({ signal: parent.signal, limit });
          const log: string[] = [];
          group.signal.addEventListener('abort', () => log.push('abort'));
          const failures = jobs.map((_, i) => new Error(`job ${i} failed`));
          const starts = jobs.map(() => 0);
          const signalAbortedAtStart: boolean[] = [];
          let active = 0;
          let maxActive = 0;
          const go = (i: number): void => {
            log.push(`go ${i}`);
            group.go(async (signal) => {
              log.push(`start ${i}`);
              starts[i]!++;
              signalAbortedAtStart[i] = signal.aborted;
              active++;
              maxActive = Math.max(maxActive, active);
              try {
                await s.schedule(Promise.resolve(), `job ${i} ends`);
                if (jobs[i]!.fails) {
                  log.push(`throw ${i}`);
                  throw failures[i]!;
                }
              } finally {
                active--;
              }
            });
          };
          jobs.forEach((job, i) => {
            if (job.late) void s.schedule(Promise.resolve(), `go ${i}`).then(() => go(i));
            else go(i);
          });
          if (parentAborts) {
            void s.schedule(Promise.resolve(), 'parent aborts').then(() => {
              log.push('parent');
              parent.abort(parentReason);
            });
          }
          await s.waitIdle();
          const final = await group.wait().then(
            () => ({ ok: true as const }),
            (error: unknown) => ({ ok: false as const, error }),
          );

          expect(active).toBe(0);
          expect(maxActive).toBeLessThanOrEqual(limit ?? Number.POSITIVE_INFINITY);
          // As in errgroup, nothing is dropped: every function given to go() runs exactly once.
          expect(starts.every((n) => n === 1)).toBe(true);
          // FIFO: tasks start in the order go() was called.
          const goOrder = log.filter((e) => e.startsWith('go ')).map((e) => Number(e.slice(3)));
          const startOrder = log.filter((e) => e.startsWith('start ')).map((e) => Number(e.slice(6)));
          expect(startOrder).toEqual(goOrder.filter((i) => starts[i] === 1));
          // A function that starts after the abort (queued before it, or given to go() after it)
          // starts with its signal already aborted, so a well-behaved one returns at once.
          const abortAt = log.indexOf('abort');
          if (abortAt !== -1) {
            for (const i of startOrder) {
              if (log.indexOf(`start ${i}`) > abortAt) expect(signalAbortedAtStart[i]).toBe(true);
            }
          }
          // The first error wins; every error is kept in the order it happened.
          const thrown = log.filter((e) => e.startsWith('throw ')).map((e) => failures[Number(e.slice(6))]);
          expect(group.errors).toEqual(thrown);
          const firstCause = log.find((e) => e === 'parent' || e.startsWith('throw '));
          // A group listens to its parent only while it has work, but catches up on a parent
          // abort that came while it was idle as soon as it is looked at (wait(), signal, go).
          if (firstCause === undefined) expect(final).toEqual({ ok: true });
          else {
            const reason = firstCause === 'parent' ? parentReason : failures[Number(firstCause.slice(6))];
            expect(group.signal.reason).toBe(reason);
            expect(final).toEqual({ ok: false, error: thrown[0] ?? parentReason });
          }
        },
      ),
      { numRuns: 300, seed: 1103 },
    );
  });
});
