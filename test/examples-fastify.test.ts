import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { get_encoding } from 'tiktoken';
import { afterEach, describe, expect, it } from 'vitest';
import { send, type Answer } from './support/http-client.js';
import { startService, type Service } from './support/service.js';
import { sample } from './support/http.js';

const example = (name: string): URL => new URL(`../examples/fastify/${name}`, import.meta.url);
const running: Service[] = [];

afterEach(() => {
  for (const service of running.splice(0)) service.child.kill('SIGKILL');
});

async function start(): Promise<Service> {
  const service = await startService(fileURLToPath(example('server.js')));
  running.push(service);
  return service;
}

/** The reference for the key-stretching route: the same rounds of SHA-256, on this thread. */
function stretch(text: string, rounds: number): string {
  let digest = Buffer.from(text);
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest();
  return digest.toString('hex');
}

const TEXTS = [
  'hello world',
  'Tokenizers split text into sub-word units; BPE merges the most frequent pairs first.',
  'Ünïcödé, 中文字符, emoji 🤖🚀 and  double  spaces\n\nacross paragraphs.',
  'function add(a, b) {\n  return a + b; // 42\n}',
];

describe('the Fastify example service (examples/fastify)', () => {
  it('is shown in the README exactly as the files are', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const name of ['server.js', 'tasks.js']) {
      expect(readme, name).toContain('```js\n' + readFileSync(example(name), 'utf8') + '```');
    }
  });

  it('runs as written: tokenizes as tiktoken cl100k_base does, stretches as node:crypto does, and counts both', async () => {
    const service = await start();
    const encoding = get_encoding('cl100k_base');
    try {
      for (const text of TEXTS) {
        const answer = await send(service.port, 'POST', '/tokenize', { text }).answer;
        expect(answer.status, text).toBe(200);
        const body = JSON.parse(answer.body) as { ids: number[]; length: number };
        expect(body.ids, text).toEqual(Array.from(encoding.encode(text)));
        expect(body.length).toBe(body.ids.length);
      }
    } finally {
      encoding.free();
    }
    for (const [text, rounds] of [
      ['correct horse battery staple', undefined],
      ['salt:password', 1234],
    ] as const) {
      const answer = await send(service.port, 'POST', '/hash', { text, rounds }).answer;
      expect(JSON.parse(answer.body)).toEqual({ digest: stretch(text, rounds ?? 5000) });
    }
    const invalid = await send(service.port, 'POST', '/hash', { rounds: 3 }).answer;
    expect(invalid.status).toBe(400);
    const metrics = await send(service.port, 'GET', '/metrics').answer;
    expect(sample(metrics.body, 'orchestrator_tasks_total{task="tokenize",outcome="success"}')).toBe(
      TEXTS.length,
    );
    expect(sample(metrics.body, 'orchestrator_tasks_total{task="hash",outcome="success"}')).toBe(2);
    expect(JSON.parse((await send(service.port, 'GET', '/readyz').answer).body)).toEqual({ status: 'ready' });
  });

  it('on SIGTERM under load with 2 s tasks, answers every request and exits by itself', async () => {
    const service = await start();
    const answers: Promise<Answer>[] = [];
    for (let i = 0; i < 12; i++) {
      answers.push(send(service.port, 'POST', '/hash', { text: `key ${i}`, rounds: 2_000_000 }).answer);
    }
    // Wait, by state rather than by the clock, until the pool is running them.
    for (;;) {
      const metrics = await send(service.port, 'GET', '/metrics').answer;
      if ((sample(metrics.body, 'orchestrator_tasks_in_flight') ?? 0) > 0) break;
    }
    service.child.kill('SIGTERM');
    const statuses = (await Promise.all(answers)).map((answer) => answer.status);
    expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    expect(await service.exited).toEqual({ code: 0, signal: null });
  }, 60_000);
});
