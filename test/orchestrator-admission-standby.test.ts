import { describe, expect, it } from 'vitest';
import { Admission, STANDBY_MIN_JOB_MS } from '../src/orchestrator/admission.js';
import type { TaskRun } from '../src/orchestrator/task-run.js';
import type { ThreadPool } from '../src/pool/thread-pool.js';

/** A pool that keeps exactly the tickets admission wants, as ThreadPool.sync does. */
class TicketPool {
  tickets = 0;
  constructor(readonly admission: Admission) {}
  sync(): void {
    this.tickets = this.admission.wanted();
  }
  /** A free thread takes a ticket: admission names the run it starts. */
  take(): TaskRun | undefined {
    const run = this.admission.next();
    if (run !== undefined) this.tickets--;
    return run;
  }
}

const unlimited = { weight: 1, maxInFlight: Number.POSITIVE_INFINITY, maxQueue: Number.POSITIVE_INFINITY };

function setUp(limit: number): { admission: Admission; pool: TicketPool; submit: () => TaskRun } {
  const admission = new Admission(
    { limit, closed: false, started: () => undefined },
    {
      tenants: { listed: new Map(), unlisted: unlimited, labelled: false },
      resources: new Map(),
      maxQueue: 1000,
    },
  );
  const pool = new TicketPool(admission);
  admission.attach(pool as unknown as ThreadPool);
  const submit = (): TaskRun => {
    const run = {
      spec: { task: 't', tenant: undefined, needs: undefined, gpu: false, items: 1 },
      submittedAt: 0,
      workerMs: 0,
      waiting: false,
      place: undefined,
    } as unknown as TaskRun;
    expect(admission.admit(run, 0)).toBeUndefined();
    return run;
  };
  return { admission, pool, submit };
}

/** Starts a run on a free thread and ends it after `ms` of worker time. */
function runFor(pool: TicketPool, ms: number): void {
  const run = pool.take()!;
  run.workerMs = ms;
  pool.admission.finished(run);
}

/** Two slots, jobs timed at `jobMs` (one after the other): both slots busy and three runs waiting. */
function busyWithThreeWaiting(...jobMs: number[]): { admission: Admission; pool: TicketPool } {
  const { admission, pool, submit } = setUp(2);
  for (const ms of jobMs) {
    submit();
    runFor(pool, ms);
  }
  for (let i = 0; i < 5; i++) submit();
  pool.take();
  pool.take();
  return { admission, pool };
}

describe('admission: the standby ticket', () => {
  it('short jobs: one ticket per free slot, none while every slot is busy', () => {
    const { admission, pool } = busyWithThreeWaiting(STANDBY_MIN_JOB_MS / 10);
    expect(pool.tickets).toBe(0);
    expect(admission.inFlight).toBe(2);
    expect(admission.queued).toBe(3);
  });

  it('long jobs: one standby ticket while runs wait and every slot is busy, counted neither in flight nor as a place', () => {
    const { admission, pool } = busyWithThreeWaiting(10 * STANDBY_MIN_JOB_MS);
    expect(pool.tickets).toBe(1);
    expect(admission.inFlight).toBe(2);
    expect(admission.queued).toBe(3);
    expect(admission.hasFreeSlot).toBe(false);
    // A thread frees up and takes the standby inside Piscina's dispatch, before its answer's
    // slot comes back: the next run starts at once, and a new standby follows the answer.
    expect(pool.take()).toBeDefined();
    expect(pool.tickets).toBe(0);
    expect(admission.queued).toBe(2);
  });

  it('a cold first job does not keep a standby for the short jobs after it', () => {
    // A module loading its model makes the first job slow; two short jobs later, the length is
    // theirs (a moving average seeded with the cold start would still read ~64× theirs).
    const { pool } = busyWithThreeWaiting(
      1000 * STANDBY_MIN_JOB_MS,
      STANDBY_MIN_JOB_MS / 10,
      STANDBY_MIN_JOB_MS / 10,
    );
    expect(pool.tickets).toBe(0);
  });

  it('after the first jobs, the length follows the jobs: long jobs bring the standby back', () => {
    const short = STANDBY_MIN_JOB_MS / 10;
    const { pool } = busyWithThreeWaiting(
      short,
      short,
      short,
      ...Array<number>(10).fill(10 * STANDBY_MIN_JOB_MS),
    );
    expect(pool.tickets).toBe(1);
  });

  it('no standby when no run waits beyond the free slots', () => {
    const { admission, pool, submit } = setUp(2);
    submit();
    runFor(pool, 10 * STANDBY_MIN_JOB_MS);
    submit();
    expect(pool.tickets).toBe(1);
    pool.take();
    expect(pool.tickets).toBe(0);
    expect(admission.inFlight).toBe(1);
    expect(admission.hasFreeSlot).toBe(true);
  });
});
