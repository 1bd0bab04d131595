import { afterEach, describe, expect, it, vi } from 'vitest';
import { track } from './support/deferred.js';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { edgeWorker } from './support/probe.js';

afterEach(async () => {
  vi.useRealTimers();
  await closeAll();
});

/** Lets promise reactions and messages already delivered run (real turns of the event loop). */
async function settleTurns(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

const GRACE_MS = 1000;

describe('one grace deadline per cancelled batch item (#11.11)', () => {
  /*
   * The grace is a main-thread timer, and the question is *which* deadline ends a thread, so the
   * main thread's clock is faked (setTimeout and friends, Date, performance) and moved by hand;
   * the worker and every handshake with it stay real (fake timers never reach worker isolates,
   * and the gates are shared memory). setImmediate stays real, so the test can let promise
   * reactions run without moving the clock.
   */
  it('#11.11 an item cancelled later keeps its own full grace: it is not killed at an earlier item’s deadline', async () => {
    const orchestrator = createOrchestrator({
      worker: edgeWorker,
      baseLimit: 1,
      maxLimit: 1,
      cancelGraceMs: GRACE_MS,
      closeTimeoutMs: 100,
      batch: { maxSize: 2, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    await orchestrator.run('echo', 'the thread is up');
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    });
    const firstGate = new Gate();
    const secondGate = new Gate();
    const first = new AbortController();
    const second = new AbortController();
    const firstReason = new Error('cancel the first');
    const secondReason = new Error('cancel the second');
    // One batch: the first item stops when cancelled; the second ignores its cancel.
    const firstRun = orchestrator.run('probe', { n: 1, shared: firstGate.shared }, { signal: first.signal });
    const secondRun = track(
      orchestrator.run(
        'probe',
        { n: 2, shared: secondGate.shared, cooperative: false },
        { signal: second.signal },
      ),
    );
    firstRun.catch(() => undefined);
    secondRun.promise.catch(() => undefined);

    await firstGate.waitStarted(1);
    first.abort(firstReason); // t = 0: the first item's deadline would be t = 1000
    await secondGate.waitStarted(1); // the first item stopped; the second runs
    vi.advanceTimersByTime(600);
    second.abort(secondReason); // t = 600: the second item's own deadline is t = 1600
    vi.advanceTimersByTime(500); // t = 1100: past the first item's deadline only
    await settleTurns();
    expect(secondRun.settled).toBe(false);

    vi.advanceTimersByTime(600); // t = 1700: past the second item's own deadline
    vi.useRealTimers();
    await expect(secondRun.promise).rejects.toBe(secondReason);
    await expect(firstRun).rejects.toBe(firstReason);
    // Its thread was replaced: the orchestrator still serves.
    await expect(orchestrator.run('echo', 'after')).resolves.toBe('after');
  });
});
