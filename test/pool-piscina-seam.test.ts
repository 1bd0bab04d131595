/**
 * Pins every assumption src/pool/thread-pool.ts makes about Piscina beyond its documented API
 * (PISCINA_ASSUMPTIONS there). If a Piscina upgrade breaks one, a test here fails by name.
 */
import { Piscina, version } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { Gate } from './support/gate.js';

const worker = new URL('./fixtures/piscina-seam-worker.cjs', import.meta.url).href;
const kQueueOptions = Piscina.queueOptionsSymbol;
const pools: Piscina[] = [];

type Balancer = (task: Record<symbol, unknown>, workers: { id: number; currentUsage: number }[]) => unknown;

function pool(options: { maxThreads?: number; balancer?: Balancer } = {}): Piscina {
  const balancer: Balancer =
    options.balancer ?? ((_task, workers) => workers.find((w) => w.currentUsage === 0) ?? null);
  const created = new Piscina({
    filename: worker,
    minThreads: 1,
    maxThreads: options.maxThreads ?? 1,
    concurrentTasksPerWorker: 1,
    loadBalancer: balancer as never,
  });
  created.on('error', () => {});
  pools.push(created);
  return created;
}

/** An AbortSignal-like object as our tickets are: Piscina keeps the listener; we call it. */
function signalLike(): {
  aborted: boolean;
  addEventListener: (t: string, l: () => void) => void;
  removeEventListener: () => void;
  fire: () => void;
} {
  let listener: (() => void) | undefined;
  return {
    aborted: false,
    addEventListener: (_type, l) => (listener = l),
    removeEventListener: () => (listener = undefined),
    fire: () => listener?.(),
  };
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
});

describe('the Piscina seam (src/pool/thread-pool.ts)', () => {
  it('runs on the Piscina major version the seam was written for', () => {
    expect(version.split('.')[0]).toBe('5');
  });

  it('the load balancer sees the task object passed to run() through Piscina.queueOptionsSymbol', async () => {
    const seen: unknown[] = [];
    const p = pool({
      balancer: (task, workers) => {
        seen.push(task[kQueueOptions]);
        return workers.find((w) => w.currentUsage === 0) ?? null;
      },
    });
    const marker = { marker: true };
    await p.run({ kind: 'id', [kQueueOptions]: marker });
    expect(seen).toContain(marker);
  });

  it('the task object and its transferList array are posted as they stand when the balancer returns a thread', async () => {
    const transferList: ArrayBuffer[] = [];
    const buffer = new ArrayBuffer(64);
    const task: Record<string | symbol, unknown> = { kind: 'describe', input: 'before' };
    task[kQueueOptions] = task;
    const p = pool({
      balancer: (t, workers) => {
        const free = workers.find((w) => w.currentUsage === 0);
        if (free === undefined) return null;
        const bound = t[kQueueOptions] as Record<string, unknown>;
        bound['input'] = 'bound late';
        bound['buffer'] = buffer;
        transferList.push(buffer);
        return free;
      },
    });
    const answer = (await p.run(task, { transferList: transferList as never })) as {
      input: string;
      bytes: number;
    };
    expect(answer).toMatchObject({ input: 'bound late', bytes: 64 });
    expect(buffer.byteLength).toBe(0); // moved, not copied
  });

  it('pool.options is the live options object: raising maxThreads lets the next run() start a thread', async () => {
    const p = pool({ maxThreads: 1 });
    const gate = new Gate();
    const held = p.run({ kind: 'hold', shared: gate.shared }) as Promise<number>;
    await gate.waitStarted(1);
    p.options.maxThreads = 2;
    const second = p.run({ kind: 'hold', shared: gate.shared }) as Promise<number>;
    await gate.waitStarted(2); // both run at once: a second thread was started
    expect(p.threads.length).toBe(2);
    gate.release();
    const [a, b] = await Promise.all([held, second]);
    expect(a).not.toBe(b);
  });

  it('a run() with a signal-like object is withdrawn from the queue, or its thread terminated, when the listener is called', async () => {
    const p = pool({ maxThreads: 1 });
    const gate = new Gate();
    const runningSignal = signalLike();
    const running = p.run({ kind: 'hold', shared: gate.shared }, { signal: runningSignal as never });
    await gate.waitStarted(1);
    const queuedSignal = signalLike();
    const queued = p.run({ kind: 'hold', shared: gate.shared }, { signal: queuedSignal as never });
    queuedSignal.fire();
    await expect(queued).rejects.toThrow(/aborted/);
    const threadBefore = p.threads[0]?.threadId;
    runningSignal.fire();
    await expect(running).rejects.toThrow(/aborted/);
    expect(gate.started).toBe(1); // the withdrawn run never started
    expect(p.threads.map((t) => t.threadId)).not.toContain(threadBefore);
  });

  it('a thread removed after a crash or termination is gone from pool.threads before the run() promise rejects', async () => {
    const p = pool({ maxThreads: 1 });
    const before = (await p.run({ kind: 'id' })) as number;
    const threadsAtRejection = await p.run({ kind: 'exit' }).then(
      () => undefined,
      () => p.threads.map((t) => t.threadId),
    );
    expect(threadsAtRejection).toBeDefined();
    expect(threadsAtRejection).not.toContain(before);
  });
});
