/**
 * Pins the fix for a host-killing Node bug: Piscina require()s its filename, and a thread
 * terminated while Node 20 require()s an ES module aborts the whole process. The pool's entry
 * is therefore CommonJS (src/pool/thread-entry.cts), and the runner behind it loads by import().
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { THREAD_ENTRY_URL } from '../src/orchestrator/engine.js';

const stress = fileURLToPath(new URL('./fixtures/terminate-while-loading.mjs', import.meta.url));
const builtEntry = fileURLToPath(new URL('../dist/src/pool/thread-entry.cjs', import.meta.url));

function survive(entry: string, iterations: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [stress, entry, String(iterations)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the pool threads’ entry', () => {
  it('is a CommonJS file, so Piscina’s require() never takes Node’s require(esm) path', async () => {
    expect(THREAD_ENTRY_URL.endsWith('/pool/thread-entry.cjs')).toBe(true);
    const source = await readFile(builtEntry, 'utf8');
    expect(source).toMatch(/^"use strict";/);
    expect(source).toContain('module.exports = ');
    expect(source).not.toMatch(/^\s*(import|export)\s/m);
  });

  it('never aborts the process when a thread is terminated at any moment of its load', async () => {
    const { code, output } = await survive(builtEntry, 100);
    expect(output).not.toMatch(/Assertion failed|FATAL ERROR/);
    expect(code).toBe(0);
    expect(output).toContain('survived 100 terminations');
  }, 120_000);
});
