/**
 * The system sampler thread. systeminformation's `graphics()` runs `nvidia-smi` with
 * execFileSync, which stalls whatever thread calls it, so the probes live here, away from the
 * main thread and the task workers.
 * @internal
 * @module
 */
import { parentPort } from 'node:worker_threads';
import si from 'systeminformation';
import type { ProbeReply, ProbeRequest } from './sampler-protocol.js';

const port = parentPort;
if (port === null) throw new Error('sampler-thread must run in a worker thread');

port.on('message', (request: ProbeRequest) => {
  void answer(request).then((reply) => port.postMessage(reply));
});

async function answer(request: ProbeRequest): Promise<ProbeReply> {
  if (request.probe === 'cpu') {
    try {
      const load = await si.currentLoad();
      return { probe: 'cpu', cpuLoad: clampRatio(load.currentLoad / 100) };
    } catch {
      return { probe: 'cpu', cpuLoad: undefined };
    }
  }
  try {
    const graphics = await si.graphics();
    const gpu = graphics.controllers.find((c) => typeof c.utilizationGpu === 'number');
    if (gpu === undefined) return { probe: 'gpu', gpu: undefined };
    const memory =
      typeof gpu.memoryUsed === 'number' && typeof gpu.memoryTotal === 'number' && gpu.memoryTotal > 0
        ? clampRatio(gpu.memoryUsed / gpu.memoryTotal)
        : undefined;
    return { probe: 'gpu', gpu: { utilization: clampRatio((gpu.utilizationGpu as number) / 100), memory } };
  } catch (error) {
    return { probe: 'gpu', gpu: undefined, error: error instanceof Error ? error.message : String(error) };
  }
}

function clampRatio(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
