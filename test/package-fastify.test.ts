import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from './support/http-client.js';
import { startService } from './support/service.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'orchestrator-fastify-pack-'));
const app = join(work, 'app');

afterAll(() => rmSync(work, { recursive: true, force: true }));

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_ignore_scripts: 'true' },
  });

beforeAll(() => {
  execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, npm_config_ignore_scripts: 'true' }, // packs the dist/ npm test built
  });
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }),
  );
  npm(['install', join(work, tarball)], app);
}, 180_000);

describe('node-orchestrator/fastify from the packed package', () => {
  it('without its optional peers, fails to import with an error that says what to install', () => {
    const result = spawnSync(
      process.execPath,
      ['-e', "await import('node-orchestrator/fastify')", '--input-type=module'],
      {
        cwd: app,
        encoding: 'utf8',
      },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      'node-orchestrator/fastify needs the packages fastify (5.x) and fastify-plugin (5.x or 6.x)',
    );
    expect(result.stderr).toContain('npm install fastify fastify-plugin');
  });
});

describe('node-orchestrator/fastify from the packed package, with fastify installed', () => {
  beforeAll(() => {
    npm(['install', 'fastify@5', 'fastify-plugin'], app);
    for (const name of ['server.js', 'tasks.js']) {
      copyFileSync(join(root, 'examples/fastify', name), join(app, name));
    }
  }, 180_000);

  it('runs the README example service copied into an empty app', async () => {
    const service = await startService(join(app, 'server.js'), { cwd: app });
    try {
      const tokens = await send(service.port, 'POST', '/tokenize', { text: 'hello world' }).answer;
      expect(JSON.parse(tokens.body)).toEqual({
        ids: [15339, 1917],
        attentionMask: [1, 1],
        length: 2,
        truncated: false,
      });
      const digest = await send(service.port, 'POST', '/hash', { text: 'x', rounds: 1 }).answer;
      expect(JSON.parse(digest.body)).toEqual({
        digest: '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',
      });
      expect((await send(service.port, 'GET', '/healthz').answer).status).toBe(200);
    } finally {
      service.child.kill('SIGTERM');
    }
    expect(await service.exited).toEqual({ code: 0, signal: null });
  });

  it('types request.run by the worker module a user registers', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      [
        `import Fastify from 'fastify';`,
        `import orchestratorPlugin from 'node-orchestrator/fastify';`,
        ``,
        `declare module 'node-orchestrator/fastify' {`,
        `  interface FastifyOrchestratorTasks {`,
        `    tasks: typeof import('./tasks.js');`,
        `  }`,
        `}`,
        ``,
        `const app = Fastify();`,
        `await app.register(orchestratorPlugin, { orchestrator: { worker: new URL('./tasks.js', import.meta.url) } });`,
        `app.post('/', async (request) => {`,
        `  const digest: string = await request.run('hash', { text: 'x' });`,
        `  const tokens: number[] = (await request.run('tokenize', { text: 'x' })).ids;`,
        `  // @ts-expect-error -- not a task of tasks.js`,
        `  await request.run('nope', {});`,
        `  // @ts-expect-error -- a number is not the tokenize input`,
        `  await request.run('tokenize', 42);`,
        `  return { digest, tokens };`,
        `});`,
        `// @ts-expect-error -- fastify.orchestrator is typed by the same module`,
        `await app.orchestrator.run('nope', {});`,
        `const limit: number = app.orchestrator.limit;`,
        `console.log(limit);`,
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          allowJs: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
