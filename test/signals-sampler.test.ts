import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemSampler } from 'node-orchestrator';
import { fakeGpu, type FakeSmi } from './support/fake-gpu.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts a sampler on a fake GPU and collects its warnings. */
function samplerOn(
  smi: FakeSmi,
  options: { probeTimeoutMs?: number } = {},
): { sampler: SystemSampler; warnings: string[] } {
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
  return { sampler, warnings };
}

/** Polls a condition on the sampler's state (the sampler is another thread: no event to await). */
async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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
    const { sampler } = samplerOn({ utilization: 50, delaySeconds: 0.3 });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    await until(() => sampler.latest().gpuUtilization !== undefined, 'a slow GPU reading');
    delay.disable();
    expect(sampler.latest().gpuUtilization).toBeCloseTo(0.5, 5);
    // The probe blocks its own thread for 300 ms; the main loop must not notice.
    expect(delay.max / 1e6).toBeLessThan(150);
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
    expect(warnings[0]).toMatch(/GPU signal absent/);
  });

  it('abandons a hanging nvidia-smi after probeTimeoutMs, goes on sampling CPU, and warns once', async () => {
    const { sampler, warnings } = samplerOn({ hangSeconds: 4 }, { probeTimeoutMs: 500 });
    await until(() => warnings.length > 0, 'the hang warning');
    expect(warnings[0]).toMatch(/did not answer within 500 ms; the GPU signal is now absent/);
    await until(() => sampler.latest().cpuLoad !== undefined, 'a CPU reading after the restart');
    expect(sampler.latest().gpuUtilization).toBeUndefined();
    expect(warnings).toHaveLength(1);
  });
});
