import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemSampler } from 'node-orchestrator';
import { fakeGpu, type FakeSmi } from './support/fake-gpu.js';
import { runUntilExit } from './support/exit-fixture.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts a sampler on a fake GPU and collects its warnings. */
function samplerOn(
  smi: FakeSmi,
  options: { probeTimeoutMs?: number } = {},
): { sampler: SystemSampler; warnings: string[]; pidFile: string } {
  const gpu = fakeGpu(smi);
  const warnings: string[] = [];
  const sampler = new SystemSampler({
    intervalMs: 50,
    gpuIntervalMs: 100,
    probeTimeoutMs: options.probeTimeoutMs ?? 5000,
    env: gpu.env,
    onWarning: (message) => warnings.push(message),
  });
  cleanups.push(gpu.remove, () => sampler.close());
  sampler.start();
  return { sampler, warnings, pidFile: gpu.pidFile };
}

/** Polls a condition on the sampler's state (the sampler is another thread: no event to await). */
async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits for a hanging fake nvidia-smi to start and returns its pid. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function hungSmiPid(pidFile: string): Promise<number> {
  await until(() => existsSync(pidFile), 'the hanging nvidia-smi to start');
  return Number(readFileSync(pidFile, 'utf8'));
}

/**
 * Whether a process still runs. A killed process whose parent died too is a zombie until PID 1
 * reaps it, and some container inits reap late, so a zombie counts as gone.
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false; // Reaped between the two checks.
  }
}

/** Runs test/fixtures/sampler-exit.mjs on a fake GPU; resolves with how the process ended. */
async function runExitFixture(
  mode: 'close' | 'no-close',
): Promise<{ code: number | null; signal: string | null; output: string; pidFile: string }> {
  const gpu = fakeGpu({ hangSeconds: 60 });
  cleanups.push(gpu.remove);
  const exit = await runUntilExit('sampler-exit.mjs', [gpu.pidFile, mode], gpu.env);
  return { ...exit, pidFile: gpu.pidFile };
}

describe('SystemSampler', () => {
  it('reads GPU utilization and memory through systeminformation from a fake nvidia-smi', async () => {
    const { sampler, warnings } = samplerOn({ utilization: 97 });
    await until(() => sampler.latest().gpuUtilization !== undefined, 'a GPU reading');
    expect(sampler.latest().gpuUtilization).toBeCloseTo(0.97, 5);
    expect(sampler.latest().gpuMemory).toBeCloseTo(0.5, 5);
    await until(() => sampler.latest().cpuLoad !== undefined, 'a CPU reading');
    const cpu = sampler.latest().cpuLoad!;
    expect(cpu).toBeGreaterThanOrEqual(0);
    expect(cpu).toBeLessThanOrEqual(1);
    expect(warnings).toEqual([]);
  });

  it('never stalls the main event loop while a slow nvidia-smi runs', async () => {
    // An nvidia-smi that hangs for 10 s (well inside probeTimeoutMs): while it is provably still
    // running, the main loop must turn. Had the probe blocked this thread, the next turn would
    // come only after nvidia-smi had exited. Ordering, not timing, decides the test.
    const { pidFile } = samplerOn({ hangSeconds: 10 }, { probeTimeoutMs: 30_000 });
    const pid = await hungSmiPid(pidFile);
    let turns = 0;
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      turns++;
    }
    expect(turns).toBe(5);
    expect(isAlive(pid)).toBe(true);
  });

  it.each([
    ['missing', 'missing'],
    ['failing', 'failing'],
  ] as const)('makes the GPU signal absent with one warning when nvidia-smi is %s', async (_label, smi) => {
    const { sampler, warnings } = samplerOn(smi);
    await until(() => warnings.length > 0, 'a warning');
    await until(() => sampler.latest().cpuLoad !== undefined, 'a CPU reading');
    // Several more GPU probes happen meanwhile; the warning is not repeated.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(sampler.latest().gpuUtilization).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/GPU signal is absent/);
  });

  it('abandons a hanging nvidia-smi after probeTimeoutMs, goes on sampling CPU, and warns once', async () => {
    const { sampler, warnings } = samplerOn({ hangSeconds: 4 }, { probeTimeoutMs: 500 });
    await until(() => warnings.length > 0, 'the hang warning');
    expect(warnings[0]).toMatch(/did not answer within 500 ms; the GPU signal is now absent/);
    await until(() => sampler.latest().cpuLoad !== undefined, 'a CPU reading after the restart');
    expect(sampler.latest().gpuUtilization).toBeUndefined();
    expect(warnings).toHaveLength(1);
  });

  it('close() returns promptly and kills a hung nvidia-smi', async () => {
    // probeTimeoutMs far beyond the test, so only close() can end the probe; the sleep outlasts
    // the test timeout, so a close() that waited for it would fail the test.
    const { sampler, pidFile } = samplerOn({ hangSeconds: 60 }, { probeTimeoutMs: 120_000 });
    const pid = await hungSmiPid(pidFile);
    expect(isRunning(pid)).toBe(true);
    await sampler.close();
    // SIGKILL has been sent to the whole group; the kernel may take a moment to deliver it.
    await until(() => !isRunning(pid), 'the hung nvidia-smi to die', 5000);
  });

  it.each(['close', 'no-close'] as const)(
    'never keeps a process alive (%s): it exits by itself and leaves no hung nvidia-smi behind',
    async (mode) => {
      const { code, signal, output, pidFile } = await runExitFixture(mode);
      expect(signal).toBeNull();
      expect(code).toBe(0);
      expect(output).toContain(`probe in flight ${mode}`);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      await until(() => !isRunning(pid), 'the hung nvidia-smi to die', 5000);
    },
  );
});
