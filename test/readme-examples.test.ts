import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'orchestrator-readme-'));
// The examples import the package by name, as a user's app does: it resolves to this checkout.
mkdirSync(join(work, 'node_modules'));
symlinkSync(root, join(work, 'node_modules', 'node-orchestrator'), 'dir');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The fenced block right after each `<!-- kind: path -->` marker of the README. */
function blocks(kind: 'example' | 'output'): Map<string, string> {
  const found = new Map<string, string>();
  const pattern = new RegExp(`<!-- ${kind}: (\\S+) -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``, 'g');
  for (const [, path, body] of readme.matchAll(pattern)) found.set(path!, body!);
  return found;
}

const examples = blocks('example');
const outputs = blocks('output');

describe('README examples', () => {
  it('has examples and expected outputs to run', () => {
    expect([...outputs.keys()].sort()).toEqual(['cache/main.mjs', 'pipeline/main.mjs']);
    for (const path of outputs.keys()) expect(examples.has(path)).toBe(true);
  });

  for (const path of outputs.keys()) {
    it(`${path} prints what the README says it prints`, () => {
      for (const [file, body] of examples) {
        mkdirSync(dirname(join(work, file)), { recursive: true });
        writeFileSync(join(work, file), body);
      }
      const stdout = execFileSync(process.execPath, [join(work, path)], { cwd: work, encoding: 'utf8' });
      expect(stdout).toBe(outputs.get(path));
    });
  }
});
