import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError } from 'node-orchestrator';
import { QueueClient, QueueNode } from 'node-orchestrator/bullmq';
import { markers, queueTasks, until } from './support/queue-node.js';
import { requireRedis, startRedis, type RedisServer } from './support/redis-server.js';

/** TCP sockets this process holds: the Redis connections a close must end. */
function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
}

describe.runIf(requireRedis())('close() when Redis stops answering', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(): Promise<{ redis: RedisServer; dir: string }> {
    const redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'queue-close-'));
    cleanups.push(() => redis.stop());
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return { redis, dir };
  }

  // Two moments of the freeze: after Redis stored the job, and while the add itself is unanswered
  // (then the dropped connection fails the add, and the close's reason must still win).
  for (const moment of ['after the job is stored', 'while the add is unanswered'] as const) {
    it(`QueueClient.close() ends, rejects the runs it held with ERR_ABORTED and drops its connections (${moment})`, async () => {
      const { redis } = await setup();
      const before = tcpSockets();
      const queue = moment === 'after the job is stored' ? 'frozen-client-stored' : 'frozen-client-adding';
      const client = new QueueClient({ queue, connection: redis.url, closeTimeoutMs: 100 });
      await client.ready();
      expect(tcpSockets()).toBeGreaterThan(before);
      if (moment === 'while the add is unanswered') redis.freeze();
      // No node consumes this queue: the job waits in Redis (or in its add) while Redis is frozen.
      const held = client.run('echo', 'never taken').catch((error: unknown) => error);
      await until(() => client.jobsInFlight === 1, 'the job to be tracked');
      if (moment === 'after the job is stored') {
        await until(() => redis.cli('KEYS', `bull:${queue}:*-1`).trim() !== '', 'the job to be in Redis');
        redis.freeze();
      }
      await client.close();
      expect(await held).toBeInstanceOf(AbortedError);
      await until(() => tcpSockets() === before, 'every Redis socket of the client to close');
    }, 30_000);
  }

  it('QueueNode.close() ends while a job runs, aborts that job, closes its threads and drops its connections', async () => {
    const { redis, dir } = await setup();
    const before = tcpSockets();
    const node = new QueueNode({
      worker: queueTasks,
      queue: 'frozen-node',
      connection: redis.url,
      adaptive: false,
      baseLimit: 1,
      maxLimit: 1,
      closeTimeoutMs: 100,
    });
    const client = new QueueClient({ queue: 'frozen-node', connection: redis.url, closeTimeoutMs: 100 });
    const held = client.run('holdOnce', { dir, key: 'held' }).catch((error: unknown) => error);
    await until(() => markers(dir, 'started').length === 1, 'the task to start on the node');
    redis.freeze();
    await Promise.all([node.close(), client.close()]);
    expect(markers(dir, 'aborted').map(([key]) => key)).toEqual(['held']);
    expect(await held).toBeInstanceOf(AbortedError);
    expect(node.orchestrator.threads).toBe(0);
    await until(() => tcpSockets() === before, 'every Redis socket of the node and the client to close');
  }, 60_000);
});
