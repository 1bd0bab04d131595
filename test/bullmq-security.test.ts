import { afterEach, describe, expect, it } from 'vitest';
import { RedisAuthError, RedisUnavailableError } from 'node-orchestrator';
import { QueueClient, QueueNode, type RedisConnection } from 'node-orchestrator/bullmq';
import { queueTasks } from './support/queue-node.js';
import { requireRedis, startRedis, type RedisServer } from './support/redis-server.js';
import { freePort } from './support/tools.js';

describe.runIf(requireRedis())('Redis logins and TLS', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function server(options: Parameters<typeof startRedis>[0]): Promise<RedisServer> {
    const redis = await startRedis(options);
    cleanups.push(() => redis.stop());
    return redis;
  }

  /** A node and a client on `connection`; resolves with a round trip's result. */
  async function roundTrip(connection: RedisConnection): Promise<unknown> {
    const node = new QueueNode({ worker: queueTasks, queue: 'secure', connection, adaptive: false });
    const client = new QueueClient({ queue: 'secure', connection });
    cleanups.push(
      () => node.close(),
      () => client.close(),
    );
    await node.ready();
    return client.run('echo', { secret: 42n });
  }

  it('with the right password (in the URL or as an option) work goes through', async () => {
    const redis = await server({ password: 's3cret' });
    expect(await roundTrip(`redis://:s3cret@127.0.0.1:${redis.port}`)).toEqual({ secret: 42n });
    expect(await roundTrip({ port: redis.port, password: 's3cret' })).toEqual({ secret: 42n });
  });

  it('a wrong or missing password fails fast with RedisAuthError, on the client and on the node', async () => {
    const redis = await server({ password: 's3cret' });
    for (const connection of [{ port: redis.port, password: 'wrong' }, { port: redis.port }]) {
      const client = new QueueClient({ queue: 'secure', connection });
      const node = new QueueNode({ worker: queueTasks, queue: 'secure', connection, adaptive: false });
      cleanups.push(
        () => client.close(),
        () => node.close(),
      );
      const nodeRefused = node.ready().catch((error: unknown) => error);
      const refused = await client.run('echo', 1).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RedisAuthError);
      expect((refused as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${redis.port}`));
      expect((refused as Error).message).not.toMatch(/wrong/);
      expect(await nodeRefused).toBeInstanceOf(RedisAuthError);
    }
  });

  it('an ACL user logs in with its username and password; another user is refused', async () => {
    const redis = await server({ aclUser: { name: 'orchestrator', password: 'pw' } });
    expect(await roundTrip({ port: redis.port, username: 'orchestrator', password: 'pw' })).toEqual({
      secret: 42n,
    });
    const intruder = new QueueClient({
      queue: 'secure',
      connection: { port: redis.port, username: 'mallory', password: 'pw' },
    });
    cleanups.push(() => intruder.close());
    await expect(intruder.ready()).rejects.toBeInstanceOf(RedisAuthError);
  });

  it('nothing listening fails fast with RedisUnavailableError naming the address', async () => {
    const port = await freePort();
    const client = new QueueClient({ queue: 'secure', connection: `redis://127.0.0.1:${port}` });
    cleanups.push(() => client.close());
    const error = await client.ready().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`redis://127\\.0\\.0\\.1:${port}`));
  });

  it('TLS options reach the connections: a rediss:// server with its CA works, without it the certificate is refused', async () => {
    const redis = await server({ tls: true });
    expect(await roundTrip({ url: redis.url, tls: { ca: redis.ca } })).toEqual({ secret: 42n });
    const untrusting = new QueueClient({ queue: 'secure', connection: redis.url });
    cleanups.push(() => untrusting.close());
    const error = await untrusting.ready().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toMatch(/certificate/i);
  });

  it('a node ignores malformed messages on the cancel channel and keeps working', async () => {
    const redis = await server({});
    expect(await roundTrip(redis.url)).toEqual({ secret: 42n });
    for (const message of [
      'not json',
      '{"ids":"x"}',
      '{"ids":[1,null,{}]}',
      '[]',
      'null',
      `{"ids":["${'x'.repeat(300)}"]}`,
    ]) {
      redis.cli('PUBLISH', 'bull:secure:orchestrator-cancel', message);
    }
    const client = new QueueClient({ queue: 'secure', connection: redis.url });
    cleanups.push(() => client.close());
    expect(await client.run('echo', 'after')).toBe('after');
  });
});
