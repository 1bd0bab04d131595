/**
 * The system sampler process, started by {@link SamplerChild} with `child_process.fork`.
 * systeminformation's `graphics()` runs `nvidia-smi` with execFileSync, which blocks whatever
 * thread calls it until nvidia-smi returns; a worker thread blocked there cannot even be
 * terminated. So the probes live in a process of their own, which leads its own process group:
 * the parent can kill it and a hung nvidia-smi together, at once.
 * @module
 */
import si from 'systeminformation';
import type { ProbeReply, ProbeRequest } from './sampler-protocol.js';

const send = process.send?.bind(process);
if (send === undefined) throw new Error('sampler-process must be started by child_process.fork');

process.on('message', (request: ProbeRequest) => {
  void answer(request).then((reply) => send(reply, undefined, {}, ignoreClosedChannel));
});
// The parent closed the channel or died: nobody is left to answer, and we must not linger.
process.on('disconnect', () => process.exit(0));

/** A reply that finds the channel closed is simply dropped; the 'disconnect' handler exits. */
function ignoreClosedChannel(): void {
  // Passing a callback is what keeps send() from emitting an unhandled 'error'.
}

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
