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
    options: { batch: { maxSize: 1, maxDelayMs: 0 } },
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
    '#11.5 resize() from 1 to 4 starts the staged and queued %s on new threads while the first still runs',
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
      // All four are in: one running, the others staged or queued behind it.
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
});
