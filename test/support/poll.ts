/**
 * Resolves once `predicate()` holds, checking it once per event-loop turn. For state that has no
 * event of its own (a count, a gauge); the test's timeout is the failure when it never holds.
 */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}
