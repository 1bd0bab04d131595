/**
 * The failed share of the last `size` outcomes, in O(1) per outcome (a ring of bits).
 * Errors, crashes and timeouts are failures; caller aborts and load-shed rejections are not
 * recorded at all, since they say nothing about the health of the work.
 */
export class ErrorRateWindow {
  readonly #ring: Uint8Array;
  readonly #minSamples: number;
  #next = 0;
  #filled = 0;
  #failures = 0;

  /**
   * @param size - outcomes in the window.
   * @param minSamples - outcomes needed before {@link rate} is defined.
   * @throws RangeError unless both are integers >= 1.
   */
  constructor(size: number, minSamples: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`size must be an integer >= 1, got ${size}`);
    if (!Number.isInteger(minSamples) || minSamples < 1) {
      throw new RangeError(`minSamples must be an integer >= 1, got ${minSamples}`);
    }
    this.#ring = new Uint8Array(size);
    this.#minSamples = minSamples;
  }

  /** Records one outcome. */
  record(failed: boolean): void {
    const bit = failed ? 1 : 0;
    if (this.#filled === this.#ring.length) this.#failures -= this.#ring[this.#next] as number;
    else this.#filled++;
    this.#ring[this.#next] = bit;
    this.#failures += bit;
    this.#next = (this.#next + 1) % this.#ring.length;
  }

  /** Outcomes in the window now. */
  get count(): number {
    return this.#filled;
  }

  /** Failed share of the window, or undefined before `minSamples` outcomes. */
  get rate(): number | undefined {
    return this.#filled < this.#minSamples ? undefined : this.#failures / this.#filled;
  }
}
