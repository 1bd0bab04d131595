/**
 * The engine's admission structure: which waiting run starts next when a thread is free.
 * It composes the {@link FairQueue} (priority, then weighted fair share between tenants, then
 * FIFO), the tenants' maxInFlight, and the resources' units.
 * @module
 */
import { describe } from '../internal/validate.js';
import type { WaitNode } from '../limiter/wait-queue.js';
import { FairNode, FairQueue } from './fair-queue.js';
import { Resource, type ResourceStats } from './resource.js';
import { TenantBook, type Tenant, type TenantsConfig } from './tenants.js';

/** Units of one resource that a run holds while it runs. @internal */
export interface Need<T = unknown> {
  readonly resource: Resource<Place<T>>;
  readonly units: number;
}

const NO_NEEDS: readonly never[] = Object.freeze([]);

const enum State {
  Queued,
  Parked,
  Started,
  Gone,
}

/** A waiting run's place in the scheduler: a node of the fair queue or of a resource's line. @internal */
export class Place<T> extends FairNode {
  state = State.Queued;
  /** The resource whose line holds it while parked. */
  parkedOn: Resource<Place<T>> | undefined;
  parkedNode: WaitNode<Place<T>> | undefined;
  /** The resource whose units were promised to it when it left that resource's line. */
  promised: Resource<Place<T>> | undefined;

  constructor(
    readonly value: T,
    tenant: Tenant,
    priority: number,
    readonly needs: readonly Need<T>[],
    /** When the run was submitted (performance.now()). */
    readonly since: number,
  ) {
    super(tenant, priority);
  }

  /** Units of `resource` it needs. */
  unitsOf(resource: Resource<Place<T>>): number {
    for (const need of this.needs) if (need.resource === resource) return need.units;
    return 0;
  }
}

/**
 * Waiting runs, and the rules for which starts next. {@link next} is called when a thread is
 * free and returns the run to start, or nothing:
 *
 * 1. The highest priority with a run that may start goes first.
 * 2. Within it, tenants take turns by deficit round robin in proportion to their weights; a
 *    tenant at its maxInFlight is out of the rotation (its runs wait, nobody else does).
 * 3. Within a tenant and a priority, runs start in submission order, except that a run whose
 *    resource units are all taken steps aside: it is parked in that resource's line, holding
 *    no slot, and the runs behind it go on. When units come back the first parked run returns
 *    to its tenant's line, ahead of the runs that never left it, with the units promised to it.
 *
 * Counts: `waiting` is every run submitted and not started; `startable` is an upper bound on
 * how many of them could start now if threads were free (parked runs, and runs of tenants at
 * their maxInFlight beyond their room, do not count) — the engine keeps that many tickets.
 * @internal
 */
export class Scheduler<T> {
  readonly tenants: TenantBook;
  readonly #queue = new FairQueue();
  readonly #resources = new Map<string, Resource<Place<T>>>();
  readonly #promisedBy = new Map<Tenant, Set<Place<T>>>();
  #waiting = 0;
  #startable = 0;

  constructor(tenants: TenantsConfig, resources: ReadonlyMap<string, number>) {
    this.tenants = new TenantBook(tenants);
    let index = 0;
    for (const [name, units] of resources) this.#resources.set(name, new Resource(name, units, index++));
  }

  /** Runs submitted and not started. */
  get waiting(): number {
    return this.#waiting;
  }

  /** At most how many waiting runs could start now (see the class comment). */
  get startable(): number {
    return this.#startable;
  }

  /** The names of the resources declared. */
  get resourceNames(): string[] {
    return [...this.#resources.keys()];
  }

  /** A resource's numbers now, or undefined if it is not declared. */
  resourceStats(name: string, now = performance.now()): ResourceStats | undefined {
    return this.#resources.get(name)?.stats(now);
  }

  /** Sets how many units of resource `name` may be held at once (1..max); returns the limit in force. */
  setResourceLimit(name: string, limit: number): number {
    const resource = this.#resources.get(name);
    if (resource === undefined) return 0;
    resource.limit = Math.min(resource.max, Math.max(1, Math.round(limit)));
    this.#unpark(resource);
    return resource.limit;
  }

  /**
   * Checks a run's `needs` (and its `gpu` flag: one unit of a declared `gpu` resource) against
   * the resources declared.
   * @throws TypeError or RangeError naming the bad entry.
   */
  needsOf(needs: unknown, gpu: boolean): readonly Need<T>[] {
    // Most runs need nothing: no allocation for them.
    if (needs === undefined && !(gpu && this.#resources.has('gpu'))) return NO_NEEDS;
    const wanted = new Map<Resource<Place<T>>, number>();
    if (needs !== undefined) {
      if (typeof needs !== 'object' || needs === null || Array.isArray(needs)) {
        throw new TypeError(`needs must be an object of resource units, got ${describe(needs)}`);
      }
      for (const [name, units] of Object.entries(needs as Record<string, unknown>)) {
        if (units === undefined || units === 0) continue;
        const resource = this.#resources.get(name);
        if (resource === undefined) {
          const declared = this.resourceNames.join(', ') || 'none';
          throw new RangeError(
            `needs.${name} names no resource declared in the resources option (declared: ${declared})`,
          );
        }
        if (typeof units !== 'number' || !Number.isInteger(units) || units < 0 || units > resource.max) {
          throw new RangeError(
            `needs.${name} must be an integer in [0, ${resource.max}] (the units declared), got ${describe(units)}`,
          );
        }
        wanted.set(resource, units);
      }
    }
    const gpuResource = this.#resources.get('gpu');
    if (gpu && gpuResource !== undefined && !wanted.has(gpuResource)) wanted.set(gpuResource, 1);
    return [...wanted]
      .map(([resource, units]) => ({ resource, units }))
      .sort((a, b) => a.resource.index - b.resource.index);
  }

  /** Queues a run of tenant `tenantName` (undefined: the default tenant). */
  enqueue(
    value: T,
    tenantName: string | undefined,
    priority: number,
    needs: readonly Need<T>[],
    since: number,
  ): Place<T> {
    const tenant = this.tenants.get(tenantName);
    const place = new Place(value, tenant, priority, needs, since);
    this.#waiting++;
    let short: Resource<Place<T>> | undefined;
    for (const { resource, units } of needs) {
      // Parked at once only when every run waiting for the resource is parked: one that is not
      // may be older and of the same tenant, and must start first (it is parked, if need be,
      // when its turn comes, and this one behind it).
      const allParked = resource.parked.size === resource.waiting.size;
      if (short === undefined && allParked && (resource.parked.size > 0 || units > resource.free))
        short = resource;
      resource.waiting.add(place);
    }
    if (short === undefined) this.#queue.push(place);
    else this.#parkIn(place, short, false);
    this.#refresh(tenant);
    return place;
  }

  /** Withdraws a run that has not started. Returns whether it was still waiting. */
  remove(place: Place<T>): boolean {
    const { tenant } = place;
    if (place.state === State.Parked) {
      const resource = place.parkedOn as Resource<Place<T>>;
      resource.parked.remove(place.parkedNode as WaitNode<Place<T>>);
      place.parkedOn = place.parkedNode = undefined;
      tenant.parked--;
      this.#unpark(resource);
    } else if (place.state === State.Queued) {
      this.#queue.remove(place);
      const promised = this.#unpromise(place);
      if (promised !== undefined) this.#unpark(promised);
    } else return false;
    place.state = State.Gone;
    this.#waiting--;
    for (const { resource } of place.needs) resource.waiting.delete(place);
    this.#refresh(tenant);
    this.tenants.release(tenant);
    return true;
  }

  /** Starts the next run (see the class comment), or returns undefined if none may start. */
  next(): Place<T> | undefined {
    for (;;) {
      const place = this.#queue.peek() as Place<T> | undefined;
      if (place === undefined) return undefined;
      const short = this.#shortOf(place);
      if (short !== undefined) {
        this.#park(place, short);
        continue;
      }
      this.#start(place);
      return place;
    }
  }

  /** A started run ended: its tenant's slot and its units come back. */
  finished(place: Place<T>): void {
    if (place.state !== State.Started) return;
    place.state = State.Gone;
    const { tenant } = place;
    tenant.running--;
    for (const { resource, units } of place.needs) {
      resource.inUse -= units;
      this.#unpark(resource);
    }
    if (tenant.blocked && tenant.hasRoom) {
      tenant.blocked = false;
      this.#queue.unblock(tenant);
    }
    this.#refresh(tenant);
    this.tenants.release(tenant);
  }

  #start(place: Place<T>): void {
    const { tenant } = place;
    this.#queue.take(place);
    this.#unpromise(place);
    place.state = State.Started;
    this.#waiting--;
    for (const { resource, units } of place.needs) {
      resource.inUse += units;
      resource.waiting.delete(place);
    }
    tenant.running++;
    if (!tenant.hasRoom) this.#block(tenant);
    this.#refresh(tenant);
  }

  /**
   * The first resource whose units `place` cannot have now. Its own promise counts for it;
   * otherwise, no barging: runs parked for the resource come first, even if they need more
   * units than are free and this run needs fewer.
   */
  #shortOf(place: Place<T>): Resource<Place<T>> | undefined {
    for (const { resource, units } of place.needs) {
      if (place.promised === resource) {
        if (units > resource.free + units) return resource;
      } else if (resource.parked.size > 0 || units > resource.free) return resource;
    }
    return undefined;
  }

  /** Moves a queued run that cannot start into `resource`'s line. */
  #park(place: Place<T>, resource: Resource<Place<T>>): void {
    this.#queue.remove(place);
    const promised = this.#unpromise(place);
    // A run that was promised these units and lost them keeps its place at the front.
    this.#parkIn(place, resource, promised === resource);
    if (promised !== undefined && promised !== resource) this.#unpark(promised);
    this.#refresh(place.tenant);
  }

  #parkIn(place: Place<T>, resource: Resource<Place<T>>, front: boolean): void {
    place.state = State.Parked;
    place.parkedOn = resource;
    place.parkedNode = front
      ? resource.parked.unshift(place, place.priority)
      : resource.parked.push(place, place.priority);
    place.tenant.parked++;
  }

  /** Returns parked runs to the fair queue while the units they need are free. */
  #unpark(resource: Resource<Place<T>>): void {
    for (let node = resource.head(); node !== undefined; node = resource.head()) {
      const place = node.waiter;
      const units = place.unitsOf(resource);
      if (units > resource.free) return;
      resource.parked.remove(node);
      place.parkedOn = place.parkedNode = undefined;
      place.state = State.Queued;
      const { tenant } = place;
      tenant.parked--;
      // A tenant at its maxInFlight cannot start it yet: its run gets no promise, so the units
      // go on to the next parked run instead of waiting for this one.
      if (tenant.hasRoom) {
        place.promised = resource;
        resource.promised += units;
        this.#promisesOf(tenant).add(place);
      }
      this.#queue.pushReturned(place);
      this.#refresh(tenant);
    }
  }

  #unpromise(place: Place<T>): Resource<Place<T>> | undefined {
    const resource = place.promised;
    if (resource === undefined) return undefined;
    place.promised = undefined;
    resource.promised -= place.unitsOf(resource);
    const promises = this.#promisedBy.get(place.tenant);
    promises?.delete(place);
    if (promises?.size === 0) this.#promisedBy.delete(place.tenant);
    return resource;
  }

  /** A tenant reached its maxInFlight: out of the rotation, and its promises lapse. */
  #block(tenant: Tenant): void {
    tenant.blocked = true;
    this.#queue.block(tenant);
    const promises = this.#promisedBy.get(tenant);
    if (promises === undefined) return;
    const lapsed = new Set<Resource<Place<T>>>();
    for (const place of [...promises]) {
      const resource = this.#unpromise(place);
      if (resource !== undefined) lapsed.add(resource);
    }
    for (const resource of lapsed) this.#unpark(resource);
  }

  #promisesOf(tenant: Tenant): Set<Place<T>> {
    let promises = this.#promisedBy.get(tenant);
    if (promises === undefined) {
      promises = new Set();
      this.#promisedBy.set(tenant, promises);
    }
    return promises;
  }

  /** Keeps `startable` the sum over tenants of min(queued, room). */
  #refresh(tenant: Tenant): void {
    const room = Math.max(0, tenant.config.maxInFlight - tenant.running);
    const startable = Math.min(tenant.queued, room);
    this.#startable += startable - tenant.startable;
    tenant.startable = startable;
  }
}
