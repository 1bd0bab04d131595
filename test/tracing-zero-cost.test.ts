import { describe, expect, it } from 'vitest';
import { runUntilExit } from './support/exit-fixture.js';

async function probe(mode: 'off' | 'provider'): Promise<{ calls: number; worker: boolean }> {
  const { code, output } = await runUntilExit('otel-probe.mjs', [mode]);
  expect(code, output).toBe(0);
  // The last line is the probe's answer (a warning may come before it).
  return JSON.parse(output.trim().split('\n').at(-1)!) as { calls: number; worker: boolean };
}

describe('tracing costs nothing unless asked for (#14)', () => {
  it('without the tracing option: no OpenTelemetry call on the main thread, no API loaded in a worker', async () => {
    expect(await probe('off')).toEqual({ calls: 0, worker: false });
  });

  it('with it, runs consult the active context and the worker loads the API (the probe sees both)', async () => {
    const traced = await probe('provider');
    expect(traced.calls).toBeGreaterThan(0);
    expect(traced.worker).toBe(true);
  });
});
