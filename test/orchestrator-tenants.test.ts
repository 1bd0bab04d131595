import { afterEach, describe, expect, it } from 'vitest';
import { QueueFullError, type Orchestrator, type OrchestratorOptions } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { holdBothThreads } from './support/hold.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { until } from './support/poll.js';
import { Concurrency, edgeWorker, StartLog } from './support/probe.js';
import { jain, percentile } from './support/fair-sim.js';

afterEach(closeAll);

/*
 * #13 §1 against real workers. Both threads of a limit-2 orchestrator are held by probes on
 * gates; the work under test is queued behind them; releasing one gate frees one thread, which
 * then takes the waiting runs one at a time (the other stays held), so the start log shows the
 * exact order in which runs leave the scheduler.
 */

const TENANT = 10_000;

/** Runs of `tenant` (its index) get n = index × 10,000 + i, so the log says whose each start was. */
const tenantOf = (n: number): number => Math.floor(n / TENANT);

function submit(
  orchestrator: Orchestrator,
  log: StartLog,
  tenants: readonly [name: string, count: number][],
): Promise<unknown>[] {
  return tenants.flatMap(([tenant, count], index) =>
    Array.from({ length: count }, (_, i) =>
      orchestrator.run('probe', { n: (index + 1) * TENANT + i, order: log.shared }, { tenant }),
    ),
  );
}

const counts = (entries: readonly number[], tenants: number): number[] =>
  Array.from({ length: tenants }, (_, t) => entries.filter((n) => tenantOf(n) === t + 1).length);

const limit2 = (options: Partial<OrchestratorOptions> = {}): Orchestrator =>
  createOrchestrator({ worker: edgeWorker, baseLimit: 2, maxLimit: 2, closeTimeoutMs: 100, ...options });

describe('tenants share the threads by weight (#13)', () => {
  it.each([
    ['runs', {}],
    ['coalesced runs', { batch: { maxSize: 1, maxDelayMs: 0, maxBatchMs: Infinity } }],
  ])(
    'three equal-weight %s, one tenant submitting 10× more, all backlogged: Jain’s index over their starts ≥ 0.99',
    async (_kind, options) => {
      const orchestrator = limit2(options);
      const { first, second, held } = await holdBothThreads(orchestrator);
      const log = new StartLog();
      const runs = submit(orchestrator, log, [
        ['heavy', 60],
        ['b', 6],
        ['c', 6],
      ]);
      first.release();
      await Promise.all(runs);
      // While all three had runs waiting: the first 18 starts.
      const window = log.entries().slice(0, 18);
      expect(jain(counts(window, 3))).toBeGreaterThanOrEqual(0.99);
      second.release();
      await held;
    },
  );

  it('weights 1:2:4: each tenant’s share of the starts is within 5% of 1/7, 2/7, 4/7', async () => {
    const orchestrator = limit2({ tenants: { one: { weight: 1 }, two: { weight: 2 }, four: { weight: 4 } } });
    const { first, second, held } = await holdBothThreads(orchestrator);
    const log = new StartLog();
    const runs = submit(orchestrator, log, [
      ['one', 20],
      ['two', 40],
      ['four', 80],
    ]);
    first.release();
    await Promise.all(runs);
    const shares = counts(log.entries().slice(0, 70), 3).map((count) => count / 70);
    [1 / 7, 2 / 7, 4 / 7].forEach((target, i) =>
      expect(Math.abs((shares[i] as number) - target)).toBeLessThanOrEqual(0.05 * target),
    );
    second.release();
    await held;
  });

  it('a tenant arriving late starts with the next free thread and has its share in every turnover after', async () => {
    const orchestrator = limit2();
    const log = new StartLog();
    const stops = [new Gate(), new Gate()] as const;
    // a and b alternate; their fifth runs hold both threads, each on a gate of its own.
    const early = ['a', 'b'].flatMap((tenant, t) =>
      Array.from({ length: 30 }, (_, i) =>
        orchestrator.run(
          'probe',
          { n: (t + 1) * TENANT + i, order: log.shared, ...(i === 4 ? { shared: stops[t]?.shared } : {}) },
          { tenant },
        ),
      ),
    );
    await stops[0].waitStarted(1);
    await stops[1].waitStarted(1);
    const before = log.length;
    const late = Array.from({ length: 20 }, (_, i) =>
      orchestrator.run('probe', { n: 3 * TENANT + i, order: log.shared }, { tenant: 'late' }),
    );
    // One thread goes on alone, so the log holds the order the runs started in.
    stops[0].release();
    await Promise.all([...early.filter((_, i) => i !== 30 + 4), ...late]);
    stops[1].release();
    await Promise.all(early);
    const after = log.entries().slice(before, before + 30);
    expect(tenantOf(after[0] as number)).toBe(3);
    for (let from = 0; from + 3 <= after.length; from += 3) {
      expect(counts(after.slice(from, from + 3), 3)).toEqual([1, 1, 1]);
    }
  });

  it('a light tenant’s p99 wait under a heavy tenant’s flood (10× its volume), in starts, is ≤ 2× its wait alone', async () => {
    // Waits are counted in starts: how many runs started between a light run's submission and
    // its own start. Both times the light tenant's 100 runs arrive while both threads are busy
    // (as in the model of test/scheduler-fair-share.test.ts, where waits are times).
    const lightWaits = async (flood: number): Promise<number[]> => {
      const orchestrator = limit2();
      const { first, second, held } = await holdBothThreads(orchestrator, { tenant: 'heavy' });
      const log = new StartLog(2048);
      const runs = submit(orchestrator, log, [
        ['heavy', flood],
        ['light', 100],
      ]);
      // One thread takes the runs one by one, so the log holds the order they started in.
      first.release();
      await Promise.all(runs);
      second.release();
      await held;
      await orchestrator.close();
      // Every light run was submitted before the first of these starts: its wait is its index.
      return log.entries().flatMap((n, index) => (tenantOf(n) === 2 ? [index] : []));
    };
    const alone = percentile(await lightWaits(0), 0.99);
    const flooded = percentile(await lightWaits(1000), 0.99);
    expect(alone).toBeGreaterThan(0);
    expect(flooded).toBeLessThanOrEqual(2 * alone);
  });

  it('two maps of different tenants share the threads turn by turn', async () => {
    const orchestrator = limit2();
    const { first, second, held } = await holdBothThreads(orchestrator);
    const log = new StartLog();
    const drain = async (tenant: string, t: number): Promise<void> => {
      const inputs = Array.from({ length: 30 }, (_, i) => ({ n: t * TENANT + i, order: log.shared }));
      for await (const record of orchestrator.map('probe', inputs, { batchSize: 1, tenant }))
        expect(record.ok).toBe(true);
    };
    const maps = [drain('a', 1), drain('b', 2)];
    await until(() => orchestrator.tenantStats('a').waiting > 2 && orchestrator.tenantStats('b').waiting > 2);
    first.release();
    await Promise.all(maps);
    const window = log.entries().slice(0, 20);
    for (const count of counts(window, 2)) expect(Math.abs(count - 10)).toBeLessThanOrEqual(1);
    second.release();
    await held;
  });
});

describe('a tenant’s caps (#13)', () => {
  it('maxInFlight caps a tenant’s running runs; its other runs wait and other tenants’ runs go on', async () => {
    const orchestrator = limit2({ tenants: { capped: { maxInFlight: 1 } } });
    const gate = new Gate();
    const concurrency = new Concurrency();
    const capped = Array.from({ length: 3 }, (_, n) =>
      orchestrator.run('probe', { n, shared: gate.shared, count: concurrency.shared }, { tenant: 'capped' }),
    );
    await gate.waitStarted(1);
    // The second thread is free, but the capped tenant may not use it: another tenant may.
    await expect(orchestrator.run('echo', 'free', { tenant: 'free' })).resolves.toBe('free');
    expect(orchestrator.tenantStats('capped')).toEqual({ running: 1, waiting: 2 });
    expect(gate.started).toBe(1);
    gate.release();
    await Promise.all(capped);
    expect(concurrency.max).toBe(1);
    expect(concurrency.started).toBe(3);
  });

  it('maxQueue sheds a tenant’s excess with ERR_QUEUE_FULL naming it, while other tenants are admitted', async () => {
    const orchestrator = limit2({ baseLimit: 1, maxLimit: 1, tenants: { t: { maxQueue: 2 } } });
    const gate = new Gate();
    const admitted = [0, 1, 2].map((n) =>
      orchestrator.run('probe', { n, shared: gate.shared }, { tenant: 't' }),
    );
    await gate.waitStarted(1);
    const shed = await orchestrator.run('echo', 'one too many', { tenant: 't' }).catch((e: unknown) => e);
    expect(shed).toBeInstanceOf(QueueFullError);
    expect(shed).toMatchObject({ code: 'ERR_QUEUE_FULL', tenant: 't' });
    expect((shed as Error).message).toMatch(/Tenant "t" has 2 runs waiting \(its maxQueue 2\)/);
    const other = orchestrator.run('echo', 'welcome', { tenant: 'u' });
    gate.release();
    await expect(other).resolves.toBe('welcome');
    await Promise.all(admitted);
  });

  it('go(name, fn, { tenant }) runs its ctx.run calls for that tenant unless a call names its own', async () => {
    const orchestrator = limit2();
    const gate = new Gate();
    orchestrator.go(
      'job',
      async (ctx) => {
        await Promise.all([
          ctx.run('probe', { n: 1, shared: gate.shared }),
          ctx.run('probe', { n: 2, shared: gate.shared }, { tenant: 'own' }),
        ]);
      },
      { tenant: 'inherited' },
    );
    await gate.waitStarted(2);
    expect(orchestrator.tenantStats('inherited').running).toBe(1);
    expect(orchestrator.tenantStats('own').running).toBe(1);
    gate.release();
    await orchestrator.wait();
    expect(orchestrator.tenantStats('inherited')).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses a bad tenant naming the field and the value', async () => {
    const orchestrator = limit2();
    await expect(orchestrator.run('echo', 1, { tenant: '' })).rejects.toThrow(
      /tenant must be a non-empty string of at most 128 characters, got ""/,
    );
    await expect(orchestrator.run('echo', 1, { tenant: 7 as never })).rejects.toThrow(TypeError);
    expect(() => orchestrator.go('x', () => undefined, { tenant: 'x'.repeat(129) })).toThrow(
      /tenant must be/,
    );
  });
});
