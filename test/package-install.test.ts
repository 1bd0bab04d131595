import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'orchestrator-pack-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_ignore_scripts: 'true' },
  });

describe('the packed package', () => {
  it('installs from its tarball into an empty ESM app and works from plain JavaScript', () => {
    npm(['pack', '--pack-destination', work, '--silent'], root);
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
    const app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }),
    );
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)], app);
    writeFileSync(
      join(app, 'worker.js'),
      [
        `import { defineTask } from 'node-orchestrator/worker';`,
        `export const double = defineTask((n) => n * 2);`,
        `export const square = defineTask((n) => n * n, { cache: true });`,
      ].join('\n'),
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
        `const squares = await Promise.all([orchestrator.run('square', 3), orchestrator.run('square', 3)]);`,
        `const staged = [];`,
        `for await (const r of orchestrator.pipeline([1, 2], { ordered: true }).map('double').map('square')) staged.push(r.value);`,
        `await orchestrator.close();`,
        `console.log('sum', sum, 'squares', squares.join(','), 'pipeline', staged.join(','));`,
      ].join('\n'),
    );
    const output = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' });
    expect(output.trim()).toBe('sum 42 squares 9,9 pipeline 4,16');
  }, 180_000);
});
