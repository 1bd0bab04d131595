// Bounded history in the browser: aligned columns of values per frame time, as uPlot draws them.

/** One limit change the page saw, for the markers and the list. */
interface Adaptation {
  /** Seconds since the epoch (uPlot's time unit). */
  time: number;
  direction: string;
  reason: string;
  count: number;
  from: number | null;
  to: number | null;
}

/**
 * The last `capacity` frames: a time column and one column per series key. A key seen for the
 * first time is back-filled with nulls; a key missing from a frame gets a null there, so every
 * column stays aligned with the times. Columns that hold nothing but nulls after trimming are
 * dropped, so a key that stopped appearing (an error type of long ago) frees its memory.
 */
class FrameHistory {
  readonly times: number[] = [];
  readonly adaptations: Adaptation[] = [];
  readonly #columns = new Map<string, (number | null)[]>();

  constructor(public capacity: number) {}

  /** Appends one row; `time` in seconds, strictly after the previous row. */
  push(time: number, values: Record<string, number | null>): void {
    const length = this.times.length;
    if (length > 0 && time <= (this.times[length - 1] ?? 0)) return;
    this.times.push(time);
    for (const [key, value] of Object.entries(values)) {
      let column = this.#columns.get(key);
      if (column === undefined) {
        column = new Array<number | null>(length).fill(null);
        this.#columns.set(key, column);
      }
      column.push(value);
    }
    for (const column of this.#columns.values()) if (column.length === length) column.push(null);
    this.#trim();
  }

  /** A row of nulls, so no line bridges an outage. */
  gap(): void {
    const last = this.times[this.times.length - 1];
    if (last !== undefined) this.push(last + 0.001, {});
  }

  /** Remembers a limit change; the list is bounded like the rows. */
  adapt(adaptation: Adaptation): void {
    this.adaptations.push(adaptation);
    if (this.adaptations.length > this.capacity) this.adaptations.shift();
  }

  /** The column of `key`, aligned with {@link times}; all nulls if it was never seen. */
  column(key: string): (number | null)[] {
    return this.#columns.get(key) ?? new Array<number | null>(this.times.length).fill(null);
  }

  /** The keys starting with `prefix`, sorted, that hold a value in the kept rows. */
  keys(prefix: string): string[] {
    return [...this.#columns.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  /** Forgets everything, e.g. when another orchestrator is chosen. */
  clear(): void {
    this.times.length = 0;
    this.adaptations.length = 0;
    this.#columns.clear();
  }

  #trim(): void {
    const excess = this.times.length - this.capacity;
    if (excess <= 0) return;
    this.times.splice(0, excess);
    const oldest = this.times[0] ?? 0;
    while ((this.adaptations[0]?.time ?? oldest) < oldest) this.adaptations.shift();
    for (const [key, column] of this.#columns) {
      column.splice(0, excess);
      if (column.every((value) => value === null)) this.#columns.delete(key);
    }
  }
}
