import type { SamplerNote } from './system-sampler.js';

/**
 * Decides which of a sampler's notes one orchestrator passes on as warnings. No GPU is the
 * common case, so the GPU's notes (absent, probe hung) are passed on only once GPU rules are
 * asked for: `gpuUtilizationHigh` or `gpuWaitHigh` set in the options, or a run marked
 * `gpu: true` seen waiting for a slot; then once, whichever of the two comes first. A CPU probe
 * that hangs matters to every orchestrator (the CPU-load rule is on by default): passed on at once.
 * @internal
 */
export class GpuNotice {
  readonly #emit: (message: string) => void;
  #askedBy: string | undefined;
  #gpuNote: SamplerNote | undefined;
  #warned = false;

  /**
   * @param askedBy - what asked for GPU rules in the options (e.g. `gpuUtilizationHigh is set`), if anything.
   * @param emit - where a warning goes.
   */
  constructor(askedBy: string | undefined, emit: (message: string) => void) {
    this.#askedBy = askedBy;
    this.#emit = emit;
  }

  /** A note from the sampler. */
  note(note: SamplerNote): void {
    if (note.kind === 'cpu-hung') {
      this.#emit(note.message);
      return;
    }
    this.#gpuNote ??= note;
    this.#flush();
  }

  /** A run marked `gpu: true` waits: the GPU rules are in play from now on. */
  gpuWorkSeen(): void {
    this.#askedBy ??= 'runs marked gpu: true are waiting';
    this.#flush();
  }

  #flush(): void {
    if (this.#warned || this.#askedBy === undefined || this.#gpuNote === undefined) return;
    this.#warned = true;
    this.#emit(`${this.#askedBy}, but ${this.#gpuNote.message}: the GPU-utilization rule is skipped`);
  }
}
