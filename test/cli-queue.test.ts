import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedis, startRedis, type RedisServer } from './support/redis-server.js';

const cli = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/cli-tasks.mjs', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(
  args: string[],
  stdin = '',
): { child: ChildProcess; result: Promise<Result>; stderr: () => string } {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(stdin);
  const result = new Promise<Result>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, result, stderr: () => stderr };
}

const runCli = (args: string[], stdin = ''): Promise<Result> => start(args, stdin).result;

describe.runIf(requireRedis())('orchestrator node and orchestrator run --redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis({ password: 'pw' });
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('records submitted through Redis come back as the local run writes them; SIGTERM stops the node cleanly', async () => {
    const url = `redis://:pw@127.0.0.1:${redis.port}`;
    const node = start([
      'node',
      fixture,
      '--redis',
      url,
      '--queue',
      'cli',
      '--base',
      '2',
      '--max',
      '2',
      '--name',
      'cli-node',
    ]);
    // Ready once it says so on stderr (state, not time).
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (node.stderr().includes('consuming queue "cli"')) resolve();
        else if (node.child.exitCode !== null) throw new Error(`the node exited: ${node.stderr()}`);
        else setTimeout(check, 10);
      };
      check();
    });
    expect(node.stderr()).not.toMatch(/:pw@/);
    const input =
      [...Array.from({ length: 300 }, (_, i) => JSON.stringify(i)), '{oops', '"text"', '7'].join('\n') + '\n';
    const local = await runCli(['run', fixture, '--task', 'double', '--ordered'], input);
    const remote = await runCli(
      ['run', fixture, '--task', 'double', '--ordered', '--redis', url, '--queue', 'cli'],
      input,
    );
    expect(remote.stdout).toBe(local.stdout);
    expect(remote.code).toBe(1);
    expect(remote.stdout.split('\n')).toContain(
      '{"line":302,"error":{"message":"not a number: \\"text\\"","code":"ERR_TASK_FAILED"}}',
    );
    expect(remote.stderr).toMatch(/summary: 303 records, 2 failed/);
    node.child.kill('SIGTERM');
    const stopped = await node.result;
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toMatch(/node cli-node: stopping/);
    expect(stopped.stderr).toMatch(/summary: 302 records, 1 failed/);
    expect(stopped.stderr).toMatch(/task latency p50 \d+\.\d+ ms, p99 \d+\.\d+ ms/);
  });

  it('usage errors name the flag: a bad URL, --redis without --queue, pool flags on a remote run, a wrong password', async () => {
    const bad = await runCli(['run', fixture, '--task', 'double', '--redis', 'http://x', '--queue', 'q']);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      expect.stringMatching(/--redis.*expected a redis:\/\/ or rediss:\/\/ URL, got "http:\/\/x"/),
    ]);
    const noQueue = await runCli(['run', fixture, '--task', 'double', '--redis', redis.url]);
    expect([noQueue.code, noQueue.stderr]).toEqual([2, expect.stringMatching(/--redis needs --queue/)]);
    const pool = await runCli([
      'run',
      fixture,
      '--task',
      'double',
      '--redis',
      redis.url,
      '--queue',
      'q',
      '--max',
      '4',
    ]);
    expect([pool.code, pool.stderr]).toEqual([2, expect.stringMatching(/--max configures a pool/)]);
    const wrong = await runCli([
      'node',
      fixture,
      '--redis',
      `redis://:nope@127.0.0.1:${redis.port}`,
      '--queue',
      'q',
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--redis redis:\/\/:\*\*\*@127\.0\.0\.1:\d+.*refused the login/);
    expect(wrong.stderr).not.toMatch(/nope/);
    const missing = await runCli(['node', fixture, '--queue', 'q']);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/--redis/)]);
  });
});
