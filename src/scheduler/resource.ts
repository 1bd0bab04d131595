/**
 * A named resource with a number of units (a GPU, a model loaded once, a licence): runs that
 * need some hold them while they run, on top of their slot.
 * @module
 */
import { WaitQueue, type WaitNode } from '../limiter/wait-queue.js';

/** What a resource knows of a run that needs it. @internal */
export interface ResourceUser {
  /** When the run was submitted (performance.now()), for the wait signal. */
  readonly since: number;
}

/** How much of a resource's units are used, and how long its runs wait. */
export interface ResourceStats {
  /** Units held by running tasks. */
  readonly inUse: number;
  /** Units that may be held at once now (adaptation may lower it below `max`). */
  readonly limit: number;
  /** The units declared in the `resources` option. */
  readonly max: number;
  /** Runs waiting that need this resource (for its units, or for a slot). */
  readonly waiting: number;
  /** How long the longest-waiting of them has waited, in seconds; 0 when none waits. */
  readonly waitSeconds: number;
}

/**
 * One resource's units, and the line of runs waiting for them. A run *parked* here could not
 * start because the units it needs are taken; it holds no slot meanwhile. When units come back,
 * parked runs are *promised* them, in priority-then-FIFO order, and go back to the fair queue:
 * a promise keeps fresh runs from taking those units first, but holds nothing, so units never
 * sit idle behind a run that cannot start for another reason.
 * @internal
 */
export class Resource<P extends ResourceUser = ResourceUser> {
  inUse = 0;
  /** Units promised to unparked runs that have not started yet. */
  promised = 0;
  limit: number;
  readonly parked = new WaitQueue<P>();
  /** Every waiting run that needs this resource, oldest first (a Set keeps insertion order). */
  readonly waiting = new Set<P>();

  constructor(
    readonly name: string,
    /** The units declared. */
    readonly max: number,
    /** Its index in the scheduler's resources. */
    readonly index: number,
  ) {
    this.limit = max;
  }

  /** Units neither held nor promised. */
  get free(): number {
    return this.limit - this.inUse - this.promised;
  }

  /** The first parked run, if any. */
  head(): WaitNode<P> | undefined {
    return this.parked.peek();
  }

  /** The resource's numbers now. */
  stats(now: number): ResourceStats {
    const oldest = this.waiting.values().next().value;
    return {
      inUse: this.inUse,
      limit: this.limit,
      max: this.max,
      waiting: this.waiting.size,
      waitSeconds: oldest === undefined ? 0 : Math.max(0, now - oldest.since) / 1000,
    };
  }
}
