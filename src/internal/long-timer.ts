/**
 * Timers for any delay. Node clamps a `setTimeout` delay above 2^31−1 ms (about 24.8 days) to
 * 1 ms, so a 30-day deadline would fire at once; here such a delay is covered by a chain of
 * shorter timers, and `Infinity` sets no timer at all.
 * @module
 */

/** The longest delay `setTimeout` honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A pending {@link setLongTimeout}; clear it with {@link clearLongTimeout}. */
export interface LongTimer {
  /** The Node timer now armed; undefined once fired or cleared, or for an infinite delay. */
  handle: NodeJS.Timeout | undefined;
}

/**
 * Calls `fn` once after `ms` milliseconds, whatever their number; never for `Infinity`.
 * @param unref - whether the timer may let the process exit while it waits.
 */
export function setLongTimeout(fn: () => void, ms: number, unref = false): LongTimer {
  const timer: LongTimer = { handle: undefined };
  if (ms === Number.POSITIVE_INFINITY) return timer;
  const due = Date.now() + ms;
  const arm = (delay: number): void => {
    timer.handle = setTimeout(() => {
      const left = due - Date.now();
      if (left > 0 && delay === MAX_TIMER_MS) return arm(Math.min(left, MAX_TIMER_MS));
      timer.handle = undefined;
      fn();
    }, delay);
    if (unref) timer.handle.unref();
  };
  arm(Math.min(Math.max(0, ms), MAX_TIMER_MS));
  return timer;
}

/** Cancels a {@link setLongTimeout}; a timer already fired or cleared is ignored. */
export function clearLongTimeout(timer: LongTimer | undefined): void {
  if (timer?.handle === undefined) return;
  clearTimeout(timer.handle);
  timer.handle = undefined;
}
