import { describe, expect, it } from 'vitest';
import { countBy, FairSim, jain, percentile, type SimRun } from './support/fair-sim.js';

/*
 * The goals of #13 §1 on the admission structure alone: the engine's Scheduler in front of a
 * modelled pool, on a virtual clock (no threads, no sleeps). test/orchestrator-tenants.test.ts
 * holds the same guarantees against real workers.
 */

describe('fair share between tenants (#13)', () => {
  it('three equal-weight tenants, one submitting 10× more, all backlogged: Jain’s index over their starts ≥ 0.99', () => {
    const sim = new FairSim({ slots: 4 });
    // The heavy tenant submits first: in arrival order it would take the first 1,000 starts.
    sim.submit({ tenant: 'heavy', count: 1000 });
    sim.submit({ tenant: 'b', count: 100 });
    sim.submit({ tenant: 'c', count: 100 });
    const backlogged = (): boolean =>
      ['heavy', 'b', 'c'].every((name) => (sim.scheduler.tenants.find(name)?.waiting ?? 0) > 0);
    sim.runWhile(backlogged);
    const window = sim.started.slice(0, sim.started.length - 1);
    const counts = countBy(window, ['heavy', 'b', 'c']);
    expect(counts.reduce((a, b) => a + b)).toBeGreaterThan(250);
    expect(jain(counts)).toBeGreaterThanOrEqual(0.99);
  });

  it('weights 1:2:4: each tenant’s share of the starts is within 5% of 1/7, 2/7, 4/7', () => {
    const sim = new FairSim({
      slots: 8,
      tenants: { one: { weight: 1 }, two: { weight: 2 }, four: { weight: 4 } },
    });
    for (const tenant of ['one', 'two', 'four']) sim.submit({ tenant, count: 2000 });
    sim.runWhile(() => sim.started.length < 1400);
    const counts = countBy(sim.started.slice(0, 1400), ['one', 'two', 'four']);
    const shares = counts.map((count) => count / 1400);
    [1 / 7, 2 / 7, 4 / 7].forEach((target, i) => {
      expect(Math.abs((shares[i] as number) - target)).toBeLessThanOrEqual(0.05 * target);
    });
  });

  it('weights that are not whole multiples keep their ratio: credit below one start carries over', () => {
    const sim = new FairSim({ slots: 4, tenants: { a: { weight: 1 }, b: { weight: 1.5 } } });
    sim.submit({ tenant: 'a', count: 1000 });
    sim.submit({ tenant: 'b', count: 1000 });
    sim.runWhile(() => sim.started.length < 500);
    const [a, b] = countBy(sim.started.slice(0, 500), ['a', 'b']) as [number, number];
    expect(b / a).toBeCloseTo(1.5, 1);
  });

  it.each([4, 8, 16])(
    'a tenant arriving late reaches its share within one slot turnover (%i slots)',
    (slots) => {
      const sim = new FairSim({ slots });
      sim.submit({ tenant: 'a', count: 10_000 });
      sim.submit({ tenant: 'b', count: 10_000 });
      sim.runUntil(50.5);
      const before = sim.started.length;
      sim.submit({ tenant: 'late', count: 10_000 });
      sim.runWhile(() => sim.started.length < before + 10 * slots);
      const after = sim.started.slice(before, before + 10 * slots);
      // Its first run starts with the next free thread, and from then on every window of one
      // turnover (a start per slot) gives it a third of the starts, give or take one.
      expect(after[0]?.tenant).toBe('late');
      for (let from = 0; from + slots <= after.length; from += slots) {
        const [late] = countBy(after.slice(from, from + slots), ['late']) as [number];
        expect(Math.abs(late - slots / 3)).toBeLessThanOrEqual(1);
      }
    },
  );

  it('a light tenant’s p99 wait under a heavy tenant’s flood (10× its volume) is ≤ 2× its wait when alone', () => {
    /*
     * Both times the light tenant's 100 runs arrive at a pool that is busy (4 slots, each
     * running one of the heavy tenant's runs, ending a quarter apart): alone, nothing else
     * waits; under the flood, 1,000 more of the heavy tenant's runs do. Every run takes 1.
     */
    const lightWaits = (flood: number, arrival: number): number[] => {
      const sim = new FairSim({ slots: 4 });
      sim.submit({ tenant: 'heavy', count: 4, duration: (i) => (i + 1) / 4 });
      sim.submit({ tenant: 'heavy', count: flood });
      sim.runUntil(arrival);
      const light = sim.submit({ tenant: 'light', count: 100 });
      sim.runWhile(() => light.some((run) => run.startedAt === undefined));
      return light.map((run: SimRun) => (run.startedAt as number) - run.submittedAt);
    };
    for (const arrival of [0, 0.1, 0.2]) {
      const alone = percentile(lightWaits(0, arrival), 0.99);
      const flooded = percentile(lightWaits(1000, arrival), 0.99);
      expect(alone).toBeGreaterThan(0);
      expect(flooded).toBeLessThanOrEqual(2 * alone);
    }
    // In arrival order the light tenant would wait for the whole flood first.
    expect(percentile(lightWaits(1000, 0), 0.99)).toBeLessThan(1000 / 4 / 5);
  });
});

describe('caps and resources in the structure (#13)', () => {
  it('maxInFlight caps one tenant’s running runs; its other runs wait while other tenants use the slots', () => {
    const sim = new FairSim({ slots: 8, tenants: { capped: { maxInFlight: 2 } } });
    sim.submit({ tenant: 'capped', count: 100 });
    sim.submit({ tenant: 'free', count: 20 });
    let most = 0;
    sim.runWhile(() => {
      most = Math.max(most, sim.scheduler.tenants.find('capped')?.running ?? 0);
      return sim.started.length < 60;
    });
    expect(most).toBe(2);
    // The free tenant filled the other six slots: all 20 started within the first 3 turnovers.
    const free = sim.started.filter((run) => run.tenant === 'free');
    expect(free).toHaveLength(20);
    expect(Math.max(...free.map((run) => run.startedAt as number))).toBeLessThanOrEqual(3);
  });

  it('a run that needs a busy resource waits without a slot: the runs behind it start', () => {
    const sim = new FairSim({ slots: 2, resources: { gpu: 1 } });
    const gpu = sim.submit({ tenant: 't', count: 3, needs: { gpu: 1 }, duration: 10 });
    const cpu = sim.submit({ tenant: 't', count: 10, duration: 1 });
    sim.runUntil(5);
    // One GPU run holds the unit; the other slot ran CPU work meanwhile.
    expect(gpu.filter((run) => run.startedAt !== undefined)).toHaveLength(1);
    expect(cpu.filter((run) => run.startedAt !== undefined).length).toBeGreaterThanOrEqual(5);
    expect(sim.scheduler.resourceStats('gpu')).toMatchObject({ inUse: 1, limit: 1, waiting: 2 });
    sim.runUntil(100);
    expect(gpu.map((run) => run.startedAt)).toEqual([0, 10, 20]);
  });

  it('the GPU unit goes to the parked runs in priority order, and a lowered limit holds back new holders', () => {
    const sim = new FairSim({ slots: 4, resources: { gpu: 2 } });
    sim.submit({ tenant: 't', count: 2, needs: { gpu: 1 }, duration: 5 });
    const low = sim.submit({ tenant: 't', needs: { gpu: 1 }, priority: 0 });
    const high = sim.submit({ tenant: 'u', needs: { gpu: 1 }, priority: 1 });
    sim.scheduler.setResourceLimit('gpu', 1);
    sim.runUntil(5);
    // Both holders ended at 5; only one unit may be held now: the high-priority run has it.
    expect(high[0]?.startedAt).toBe(5);
    expect(low[0]?.startedAt).toBeUndefined();
    sim.runUntil(6);
    expect(low[0]?.startedAt).toBe(6);
  });
});
