/**
 * Tenants: who submitted a run, with the share of slots it is owed and its own caps. The
 * registry creates tenants that are not listed on first use, with the defaults, and forgets
 * them again as soon as they have nothing waiting or running, so any number of distinct tenant
 * names costs nothing once their work is done.
 * @module
 */

/** How one tenant shares the orchestrator. */
export interface TenantOptions {
  /** Its share of the slots, relative to the other tenants with work waiting. @default 1 */
  weight?: number | undefined;
  /** The most of its runs that run at once; the rest wait, without holding back other tenants. @default Infinity */
  maxInFlight?: number | undefined;
  /** The most of its runs that may wait; beyond it a submission is shed with ERR_QUEUE_FULL naming the tenant. @default Infinity */
  maxQueue?: number | undefined;
}

/** A tenant's options with their defaults. @internal */
export interface TenantConfig {
  readonly weight: number;
  readonly maxInFlight: number;
  readonly maxQueue: number;
}

/** The tenant of runs submitted without one. */
export const DEFAULT_TENANT = 'default';

/** The `tenant` label of every tenant that is not listed in the options. */
export const OTHER_TENANT = 'other';

/** The key of the `tenants` option that sets the options of every tenant not listed. */
export const UNLISTED_TENANTS = '*';

/** The defaults of {@link TenantOptions}. @internal */
export const TENANT_DEFAULTS: TenantConfig = {
  weight: 1,
  maxInFlight: Number.POSITIVE_INFINITY,
  maxQueue: Number.POSITIVE_INFINITY,
};

/**
 * One tenant's state in the scheduler. The fair queue and the scheduler keep its counts; the
 * tenant itself only says what they mean.
 * @internal
 */
export class Tenant {
  /** Runs of this tenant on a thread now. */
  running = 0;
  /** Runs waiting in the fair queue (not parked on a resource). */
  queued = 0;
  /** Runs parked on a resource. */
  parked = 0;
  /** What it adds to the scheduler's count of runs that could start now. */
  startable = 0;
  /** Whether it is out of the fair queue's rotation: at its maxInFlight. */
  blocked = false;
  /** DRR credit per turn: its weight over the smallest weight configured, so at least 1. */
  readonly quantum: number;

  constructor(
    readonly name: string,
    /** Its `tenant` label, or undefined when metrics carry no tenant label. */
    readonly label: string | undefined,
    readonly config: TenantConfig,
    minWeight: number,
    /** Listed in the options: kept for good (unlisted tenants are dropped when idle). */
    readonly listed: boolean,
  ) {
    this.quantum = config.weight / minWeight;
  }

  /** Runs submitted and not yet on a thread. */
  get waiting(): number {
    return this.queued + this.parked;
  }

  /** Whether another of its runs may start now (under its maxInFlight). */
  get hasRoom(): boolean {
    return this.running < this.config.maxInFlight;
  }

  /** Whether it has nothing waiting or running. */
  get idle(): boolean {
    return this.running === 0 && this.queued === 0 && this.parked === 0;
  }
}

/** The tenants as configured: listed ones, and the defaults of the rest. @internal */
export interface TenantsConfig {
  readonly listed: ReadonlyMap<string, TenantConfig>;
  readonly unlisted: TenantConfig;
  /** Whether the per-task metrics carry a `tenant` label (the `tenants` option was given). */
  readonly labelled: boolean;
}

/**
 * The registry of tenants. Listed tenants live as long as the registry; unlisted ones are made
 * on first use and dropped by {@link TenantBook.release} once idle.
 * @internal
 */
export class TenantBook {
  readonly #config: TenantsConfig;
  readonly #tenants = new Map<string, Tenant>();
  readonly #minWeight: number;

  constructor(config: TenantsConfig) {
    this.#config = config;
    const weights = [...config.listed.values()].map((tenant) => tenant.weight);
    this.#minWeight = Math.min(config.unlisted.weight, ...weights);
    for (const [name, tenant] of config.listed) {
      this.#tenants.set(name, new Tenant(name, this.#labelOf(name), tenant, this.#minWeight, true));
    }
  }

  /** Every tenant known now: the listed ones and the unlisted ones with work. */
  get all(): IterableIterator<Tenant> {
    return this.#tenants.values();
  }

  /**
   * Every value the `tenant` label may take: the listed tenants, `default` and `other`; empty
   * when metrics carry no tenant label.
   */
  get labels(): string[] {
    if (!this.#config.labelled) return [];
    return [...new Set([...this.#config.listed.keys(), DEFAULT_TENANT, OTHER_TENANT])];
  }

  /** The tenant named `name` (runs without a tenant belong to `default`), made if unknown. */
  get(name: string | undefined): Tenant {
    const key = name ?? DEFAULT_TENANT;
    let tenant = this.#tenants.get(key);
    if (tenant === undefined) {
      tenant = new Tenant(key, this.#labelOf(key), this.#config.unlisted, this.#minWeight, false);
      this.#tenants.set(key, tenant);
    }
    return tenant;
  }

  /** The tenant named `name` (undefined: the default tenant) if it is known now. */
  find(name: string | undefined): Tenant | undefined {
    return this.#tenants.get(name ?? DEFAULT_TENANT);
  }

  /** The name runs submitted with `name` count under (undefined: the default tenant). */
  nameOf(name: string | undefined): string {
    return name ?? DEFAULT_TENANT;
  }

  /** The options tenant `name` has or would have, without making it. */
  configOf(name: string | undefined): TenantConfig {
    return this.#config.listed.get(name ?? DEFAULT_TENANT) ?? this.#config.unlisted;
  }

  /** Forgets an unlisted tenant that has nothing waiting or running. */
  release(tenant: Tenant): void {
    if (!tenant.listed && tenant.idle) this.#tenants.delete(tenant.name);
  }

  /** The `tenant` label of runs submitted with `name`, or undefined when series carry none. */
  labelOf(name: string | undefined): string | undefined {
    return this.#labelOf(name ?? DEFAULT_TENANT);
  }

  /** The label of tenant `name`: its name if listed (or `default`), `other` otherwise. */
  #labelOf(name: string): string | undefined {
    if (!this.#config.labelled) return undefined;
    return this.#config.listed.has(name) || name === DEFAULT_TENANT ? name : OTHER_TENANT;
  }
}
