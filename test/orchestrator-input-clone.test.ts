import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { DataCloneError, type Orchestrator, type RunOptions } from 'node-orchestrator';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { edgeWorker, sampleSum } from './support/probe.js';
import { rejection, RUN_MODES } from './support/runs.js';

afterEach(closeAll);

/** Crashes counted in metrics, for any task. */
async function crashesCounted(orchestrator: Orchestrator): Promise<number> {
  return sampleSum(orchestrator.registry!, 'orchestrator_tasks_total', { outcome: 'crashed' });
}

/** The two answers the issue accepts: ERR_DATA_CLONE, or a TypeError. */
function expectRefusal(error: Error): void {
  if (!(error instanceof TypeError)) expect(error).toBeInstanceOf(DataCloneError);
}

describe('inputs that cannot be sent are refused, not counted as crashes (#11.13)', () => {
  it.each(RUN_MODES)(
    '#11.13 %s whose input holds a MessagePort rejects with ERR_DATA_CLONE or a TypeError, and no crash is counted',
    async (_mode, options) => {
      const orchestrator = createOrchestrator({ worker: edgeWorker, ...options });
      const { port1, port2 } = new MessageChannel();
      try {
        const error = await rejection(orchestrator.run('echo', { port: port1 }));
        expectRefusal(error);
        expect(error.message).toMatch(/MessagePort|transfer/i);
      } finally {
        port1.close();
        port2.close();
      }
      expect(await crashesCounted(orchestrator)).toBe(0);
      await expect(orchestrator.run('echo', 'still serving')).resolves.toBe('still serving');
    },
  );

  const badLists: [string, () => RunOptions['transferList']][] = [
    ['a view of shared memory', () => [new Int32Array(new SharedArrayBuffer(8))]],
    ['an object that is not transferable', () => [{} as never]],
  ];

  for (const [mode, options] of RUN_MODES) {
    it.each(badLists)(
      `#11.13 ${mode} with %s in transferList rejects naming transferList, and no crash is counted`,
      async (_entry, transferList) => {
        const orchestrator = createOrchestrator({ worker: edgeWorker, ...options });
        const error = await rejection(orchestrator.run('echo', 1, { transferList: transferList() }));
        expectRefusal(error);
        expect(error.message).toMatch(/transferList/);
        expect(await crashesCounted(orchestrator)).toBe(0);
        await expect(orchestrator.run('echo', 'still serving')).resolves.toBe('still serving');
      },
    );
  }
});
