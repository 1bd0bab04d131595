/**
 * Messages between the main process and the system sampler process, over the fork IPC channel
 * with `serialization: 'advanced'` (structured clone, so an `undefined` field survives).
 * @module
 */

/** Main process → sampler process: take one reading. */
export interface ProbeRequest {
  readonly probe: 'cpu' | 'gpu';
}

/** Sampler process → main process: one reading. `gpu: undefined` means no usable GPU was found. */
export type ProbeReply =
  | { readonly probe: 'cpu'; readonly cpuLoad: number | undefined }
  | {
      readonly probe: 'gpu';
      readonly gpu: { utilization: number; memory: number | undefined } | undefined;
      readonly error?: string;
    };
