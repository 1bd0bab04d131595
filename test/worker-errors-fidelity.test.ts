import { afterEach, describe, expect, it } from 'vitest';
import { TaskFailedError, type OrchestratorOptions } from 'node-orchestrator';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { edgeWorker } from './support/probe.js';
import { RUN_MODES } from './support/runs.js';

afterEach(closeAll);

/** The TaskFailedError a run of `task` rejects with. */
async function failure(options: Partial<OrchestratorOptions>, task: string): Promise<TaskFailedError> {
  const orchestrator = createOrchestrator({ worker: edgeWorker, ...options });
  const error: unknown = await orchestrator.run(task, undefined).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TaskFailedError);
  return error as TaskFailedError;
}

describe('a worker error keeps its details whatever was thrown (#11.14)', () => {
  it.each(RUN_MODES)(
    '#11.14 %s: an Error from another realm (a vm context) keeps its message, name, code, stack and properties',
    async (_mode, options) => {
      const error = await failure(options, 'throwFromVm');
      expect({
        message: error.message,
        remoteName: error.remoteName,
        remoteCode: error.remoteCode,
        retryAfter: (error as unknown as Record<string, unknown>)['retryAfter'],
      }).toEqual({ message: 'foo', remoteName: 'TypeError', remoteCode: 'E_VM', retryAfter: 30 });
      // The worker's frames: the function inside the vm context and the file it was compiled as.
      expect(error.stack).toMatch(/thrower/);
      expect(error.stack).toMatch(/vm-realm\.js/);
    },
  );

  it.each(RUN_MODES)(
    '#11.14 %s: a thrown plain object is described (util.inspect), not "[object Object]", and keeps its code and properties',
    async (_mode, options) => {
      const error = await failure(options, 'throwPlainObject');
      expect(error.message).not.toBe('[object Object]');
      expect(error.message).toMatch(/reason: 'nope'/);
      expect(error.remoteCode).toBe('E_PLAIN');
      expect((error as unknown as Record<string, unknown>)['retryAfter']).toBe(30);
    },
  );

  it.each(RUN_MODES)(
    '#11.14 %s: the enumerable own properties of a thrown Error survive',
    async (_mode, options) => {
      const error = await failure(options, 'throwWithProperties');
      expect(error.message).toBe('with details');
      expect(error.remoteCode).toBe('E_DETAILS');
      expect(error).toMatchObject({ retryAfter: 30, details: { field: 'size' } });
    },
  );
});
