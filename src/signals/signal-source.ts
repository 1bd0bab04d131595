/** Readings a signal source may provide; any field may be missing (absent). */
export interface SignalReading {
  /** Machine CPU load, 0..1. */
  cpuLoad?: number | undefined;
  /** GPU utilization, 0..1. */
  gpuUtilization?: number | undefined;
  /** GPU memory in use, 0..1. */
  gpuMemory?: number | undefined;
  /** Runs waiting for a slot. */
  queueDepth?: number | undefined;
  /** Seconds a `gpu` run has waited. */
  gpuWaitSeconds?: number | undefined;
  /** Failed share of recent outcomes, 0..1. */
  errorRate?: number | undefined;
}

/**
 * Anything the orchestrator can read signals from each adaptation interval: the built-in
 * {@link SystemSampler}, a {@link RegistrySource}, or your own object. A read that throws or
 * rejects is ignored for that interval.
 */
export interface SignalSource {
  read(): SignalReading | Promise<SignalReading>;
}
