import { afterEach, describe, expect, it } from 'vitest';
import type { MapRecord, Orchestrator, OrchestratorOptions } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { until } from './support/poll.js';
import { edgeWorker } from './support/probe.js';

afterEach(closeAll);

interface Kind {
  readonly options: Partial<OrchestratorOptions>;
  /** Submits four probes held on `gate`; resolves with their outcomes once all have settled. */
  submit(orchestrator: Orchestrator, gate: Gate): Promise<unknown[]>;
}

const inputs = (gate: Gate): { n: number; shared: SharedArrayBuffer }[] =>
  [0, 1, 2, 3].map((n) => ({ n, shared: gate.shared }));

async function collect(records: AsyncIterable<MapRecord>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const record of records) out.push(record.ok ? record.value : record.error);
  return out;
}

const kinds: Record<string, Kind> = {
  runs: {
    options: {},
    submit: (orchestrator, gate) =>
      Promise.all(inputs(gate).map((input) => orchestrator.run('probe', input))),
  },
  'coalesced runs': {
    options: { batch: { maxSize: 1, maxDelayMs: 0, maxBatchMs: Infinity } },
    submit: (orchestrator, gate) =>
      Promise.all(inputs(gate).map((input) => orchestrator.run('probe', input))),
  },
  'map batches': {
    options: {},
    submit: (orchestrator, gate) => collect(orchestrator.map('probe', inputs(gate), { batchSize: 1 })),
  },
};

describe('growing the limit starts threads at once (#11.5)', () => {
  it.each(Object.keys(kinds))(
    '#11.5 resize() from 1 to 4 starts the queued %s on new threads while the first still runs',
    async (name) => {
      const kind = kinds[name]!;
      const orchestrator = createOrchestrator({
        worker: edgeWorker,
        minLimit: 1,
        baseLimit: 1,
        maxLimit: 4,
        closeTimeoutMs: 100,
        ...kind.options,
      });
      const gate = new Gate();
      const done = kind.submit(orchestrator, gate);
      // Awaited below; a build that times out must not also report it as unhandled.
      done.catch(() => undefined);
      await gate.waitStarted(1);
      // All four are in: one running, the others queued behind it.
      await until(() => orchestrator.inFlight + orchestrator.queued === 4);
      expect(gate.started).toBe(1);
      expect(orchestrator.resize(4)).toBe(4);
      // The first is still held on the gate: only new threads can start the other three. A build
      // that starts them only once a running task ends never gets here (the test times out).
      await gate.waitStarted(4);
      expect(orchestrator.threads).toBe(4);
      gate.release();
      expect(await done).toHaveLength(4);
    },
    10_000,
  );

  it('#11.5 a run waiting behind a task whose thread crashes starts on the idle thread (found by the property test)', async () => {
    const orchestrator = createOrchestrator({
      worker: edgeWorker,
      minLimit: 1,
      baseLimit: 2,
      maxLimit: 2,
      closeTimeoutMs: 100,
    });
    // Two threads up, both idle.
    const warm = [new Gate(), new Gate()];
    const warming = warm.map((gate, n) => orchestrator.run('probe', { n, shared: gate.shared }));
    for (const gate of warm) await gate.waitStarted(1);
    for (const gate of warm) gate.release();
    await Promise.all(warming);
    expect(orchestrator.threads).toBe(2);
    // One thread runs a task that will kill it; with the limit at 1, the next run waits.
    const gate = new Gate();
    const crashing = orchestrator.run('probeThenExit', { n: 3, shared: gate.shared, exit: true });
    await gate.waitStarted(1);
    expect(orchestrator.resize(1)).toBe(1);
    const waiting = orchestrator.run('probe', { n: 4 });
    waiting.catch(() => undefined);
    gate.release();
    await expect(crashing).rejects.toMatchObject({ code: 'ERR_WORKER_CRASHED' });
    // The other thread is idle and the slot is free: a build that waits for a task to end on it
    // never starts the waiting run (the test times out).
    await expect(waiting).resolves.toBe(4);
  }, 10_000);
});
