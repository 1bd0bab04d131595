/**
 * One abort listener per AbortSignal, however many runs share it.
 *
 * Runs often share a signal (a request's, a group's). Node's EventTarget checks for duplicate
 * listeners by walking its list, so one listener per run makes adding a run O(n) on a shared
 * signal (and warns past ten listeners). Instead each signal gets one listener and a set of the
 * runs watching it; the listener goes away when the last run leaves.
 * @module
 */

/** Something that wants to hear when a signal aborts. */
export interface AbortWatcher {
  onSignalAbort(signal: AbortSignal): void;
}

class SignalWatch {
  readonly watchers = new Set<AbortWatcher>();

  constructor(readonly signal: AbortSignal) {}

  handleEvent(): void {
    watches.delete(this.signal);
    for (const watcher of this.watchers) watcher.onSignalAbort(this.signal);
    this.watchers.clear();
  }
}

const watches = new WeakMap<AbortSignal, SignalWatch>();

/** Calls `watcher.onSignalAbort(signal)` when `signal` aborts, until {@link unwatch}. */
export function watch(signal: AbortSignal, watcher: AbortWatcher): void {
  let entry = watches.get(signal);
  if (entry === undefined) {
    entry = new SignalWatch(signal);
    watches.set(signal, entry);
    signal.addEventListener('abort', entry, { once: true });
  }
  entry.watchers.add(watcher);
}

/** Stops watching; removes the signal's listener when nobody watches it any more. */
export function unwatch(signal: AbortSignal, watcher: AbortWatcher): void {
  const entry = watches.get(signal);
  if (entry === undefined || !entry.watchers.delete(watcher)) return;
  if (entry.watchers.size === 0) {
    watches.delete(signal);
    signal.removeEventListener('abort', entry);
  }
}
