/**
 * Waiting for something at most so long: for close() paths that must end whatever the thing
 * they wait on does.
 * @module
 */
import { clearLongTimeout, setLongTimeout, type LongTimer } from './long-timer.js';

/**
 * Waits until `promise` settles or `ms` have passed, whichever is first; the timer is always
 * cleared. `ms` may be of any size, `Infinity` meaning no limit.
 * @returns true if `promise` settled in time (fulfilled or rejected), false otherwise.
 */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: LongTimer | undefined;
  const late = new Promise<false>((resolve) => (timer = setLongTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearLongTimeout(timer);
  }
}
