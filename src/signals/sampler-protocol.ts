/**
 * Messages between the main thread and the system sampler thread.
 * @internal
 * @module
 */

/** Main → sampler: take one reading. */
export interface ProbeRequest {
  readonly probe: 'cpu' | 'gpu';
}

/** Sampler → main: one reading. `gpu: undefined` means no usable GPU was found. */
export type ProbeReply =
  | { readonly probe: 'cpu'; readonly cpuLoad: number | undefined }
  | {
      readonly probe: 'gpu';
      readonly gpu: { utilization: number; memory: number | undefined } | undefined;
      readonly error?: string;
    };
