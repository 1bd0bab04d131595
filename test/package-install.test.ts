import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'orchestrator-pack-'));
const app = join(work, 'app');

afterAll(() => rmSync(work, { recursive: true, force: true }));

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_ignore_scripts: 'true' },
  });

const node = (args: string[], input?: string): string =>
  execFileSync(process.execPath, args, {
    cwd: app,
    encoding: 'utf8',
    ...(input === undefined ? {} : { input }),
  });

describe('the packed package, installed from its tarball into an empty ESM app', () => {
  beforeAll(() => {
    npm(['pack', '--pack-destination', work, '--silent'], root);
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
    mkdirSync(app, { recursive: true });
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }),
    );
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)], app);
  }, 240_000);

  it('works from plain JavaScript', () => {
    writeFileSync(
      join(app, 'worker.js'),
      `import { defineTask } from 'node-orchestrator/worker';\nexport const double = defineTask((n) => n * 2);\n`,
    );
    writeFileSync(
      join(app, 'main.js'),
      [
        `import { AdaptiveLimiter, TaskGroup, Orchestrator } from 'node-orchestrator';`,
        `const limiter = new AdaptiveLimiter({ limit: 2 });`,
        `const group = new TaskGroup();`,
        `let sum = 0;`,
        `group.go(async () => { sum += await limiter.run(() => 20); });`,
        `await group.wait();`,
        `const orchestrator = new Orchestrator({ worker: new URL('./worker.js', import.meta.url) });`,
        `sum += await orchestrator.run('double', 11);`,
        `await orchestrator.close();`,
        `console.log('sum', sum);`,
      ].join('\n'),
    );
    expect(node(['main.js']).trim()).toBe('sum 42');
  }, 60_000);

  it('runs the shipped workers through their exports, node-orchestrator/workers/text and /image', () => {
    copyFileSync(join(root, 'test/fixtures/images/chelsea.png'), join(app, 'cat.png'));
    writeFileSync(
      join(app, 'shipped.js'),
      [
        `import { readFileSync } from 'node:fs';`,
        `import { Orchestrator } from 'node-orchestrator';`,
        `const text = new Orchestrator({ worker: import.meta.resolve('node-orchestrator/workers/text') });`,
        `const images = new Orchestrator({ worker: import.meta.resolve('node-orchestrator/workers/image') });`,
        `const tokens = await text.run('tokenize', { text: 'hello world<|endoftext|>', encoding: 'o200k_base' });`,
        `const batch = await text.run('tokenizeBatch', { texts: ['hello world', 'hi'], encoding: 'o200k_base', eosId: 199999 });`,
        `const image = await images.run('preprocessImage', { image: readFileSync('cat.png'), width: 224, height: 224, fit: 'cover' });`,
        `console.log(JSON.stringify({`,
        `  ids: Array.from(tokens.ids), batchIds: Array.from(batch.ids), shape: batch.shape,`,
        `  tensor: image.tensor.constructor.name, tensorShape: image.shape, length: image.tensor.length,`,
        `}));`,
        `await Promise.all([text.close(), images.close()]);`,
      ].join('\n'),
    );
    expect(JSON.parse(node(['shipped.js']))).toEqual({
      // o200k_base, special-token text encoded as text: the ids tiktoken gives.
      ids: [24912, 2375, 27, 91, 419, 1440, 919, 91, 29],
      batchIds: [24912, 2375, 199999, 3686, 199999, 0],
      shape: [2, 3],
      tensor: 'Float32Array',
      tensorShape: [3, 224, 224],
      length: 3 * 224 * 224,
    });
  }, 60_000);

  it('types the shipped workers: run() knows their task names, inputs and outputs', () => {
    writeFileSync(
      join(app, 'typed.ts'),
      [
        `import { Orchestrator } from 'node-orchestrator';`,
        `import type { TokenizeOutput } from 'node-orchestrator/workers/text';`,
        `import type { ImageOutput } from 'node-orchestrator/workers/image';`,
        `const text = new Orchestrator<typeof import('node-orchestrator/workers/text')>({ worker: import.meta.resolve('node-orchestrator/workers/text') });`,
        `const images = new Orchestrator<typeof import('node-orchestrator/workers/image')>({ worker: import.meta.resolve('node-orchestrator/workers/image') });`,
        `export const tokens: Promise<TokenizeOutput> = text.run('tokenize', { text: 'x', encoding: 'o200k_base' });`,
        `export const tensor: Promise<ImageOutput> = images.run('preprocessImage', { image: new Uint8Array(), width: 1, height: 1 });`,
        `// @ts-expect-error: not a task of the text worker`,
        `void text.run('preprocessImage', {});`,
        `// @ts-expect-error: not an encoding`,
        `void text.run('tokenize', { text: 'x', encoding: 'gpt2' });`,
      ].join('\n'),
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck'];
    const types = ['--typeRoots', join(root, 'node_modules/@types'), '--types', 'node'];
    expect(() => node([tsc, ...flags, ...types, 'typed.ts'])).not.toThrow();
  }, 60_000);

  it('runs a shipped worker by name from the CLI: orchestrator run text --task tokenize', () => {
    const cli = join(app, 'node_modules/node-orchestrator/dist/src/cli/main.js');
    const input = `${JSON.stringify({ text: 'hello world', maxLength: 4, padding: true })}\n`;
    const output = node([cli, 'run', 'text', '--task', 'tokenize'], input);
    expect(JSON.parse(output)).toEqual({
      line: 1,
      result: { ids: [15339, 1917, 0, 0], attentionMask: [1, 1, 0, 0], length: 2, truncated: false },
    });
  }, 60_000);
});
