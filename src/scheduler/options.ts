/**
 * The `tenants` and `resources` options: defaults and validation, one issue per bad field.
 * @module
 */
import type { ConfigIssue } from '../errors.js';
import { describe } from '../internal/validate.js';
import {
  TENANT_DEFAULTS,
  UNLISTED_TENANTS,
  type TenantConfig,
  type TenantOptions,
  type TenantsConfig,
} from './tenants.js';

/** The scheduling options of an Orchestrator. */
export interface SchedulingOptions {
  /**
   * Tenants and their share: `{ [name]: { weight, maxInFlight, maxQueue } }`; the key `'*'` sets
   * the options of every tenant not listed. Runs name their tenant with the `tenant` option;
   * runs without one belong to the tenant `default`. Giving this option also puts a `tenant`
   * label (the listed tenants, `default` and `other`) on the per-task metrics.
   * @default every tenant weight 1, no caps, and no tenant label
   */
  tenants?: Readonly<Record<string, TenantOptions>> | undefined;
  /**
   * Named resources and how many units of each exist, e.g. `{ gpu: 2, 'model-a': 1 }`. A run
   * with `needs: { gpu: 1 }` holds that unit while it runs, on top of its slot; `gpu: true` is
   * short for `needs: { gpu: 1 }` once a `gpu` resource is declared.
   * @default none
   */
  resources?: Readonly<Record<string, number>> | undefined;
}

/** The longest tenant name: it becomes a label value. */
export const MAX_TENANT_NAME = 128;

const RESOURCE_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
const TENANT_FIELDS = ['weight', 'maxInFlight', 'maxQueue'];

/**
 * Why `name` cannot be a tenant, or undefined if it can.
 * @internal
 */
export function tenantNameIssue(name: unknown): string | undefined {
  if (typeof name === 'string' && name.length > 0 && name.length <= MAX_TENANT_NAME) return undefined;
  return `a non-empty string of at most ${MAX_TENANT_NAME} characters`;
}

/**
 * Checks the `tenants` option and applies its defaults.
 * @internal
 */
export function resolveTenants(option: unknown, issues: ConfigIssue[]): TenantsConfig {
  const listed = new Map<string, TenantConfig>();
  let unlisted = TENANT_DEFAULTS;
  if (option === undefined) return { listed, unlisted, labelled: false };
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    issues.push({
      field: 'tenants',
      value: option,
      expected: 'an object of { weight, maxInFlight, maxQueue } by tenant name',
    });
    return { listed, unlisted, labelled: false };
  }
  for (const [name, value] of Object.entries(option)) {
    const field = `tenants[${JSON.stringify(name)}]`;
    if (name !== UNLISTED_TENANTS && name.length > MAX_TENANT_NAME) {
      issues.push({ field, value: name, expected: `a tenant name of at most ${MAX_TENANT_NAME} characters` });
      continue;
    }
    const config = resolveTenant(field, value, issues);
    if (name === UNLISTED_TENANTS) unlisted = config;
    else listed.set(name, config);
  }
  return { listed, unlisted, labelled: true };
}

function resolveTenant(field: string, value: unknown, issues: ConfigIssue[]): TenantConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ field, value, expected: 'an object { weight?, maxInFlight?, maxQueue? }' });
    return TENANT_DEFAULTS;
  }
  const options = value as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!TENANT_FIELDS.includes(key))
      issues.push({
        field: `${field}.${key}`,
        value: options[key],
        expected: `one of ${TENANT_FIELDS.join(', ')}`,
      });
  }
  const {
    weight = TENANT_DEFAULTS.weight,
    maxInFlight = TENANT_DEFAULTS.maxInFlight,
    maxQueue = TENANT_DEFAULTS.maxQueue,
  } = options;
  if (!(typeof weight === 'number' && Number.isFinite(weight) && weight > 0))
    issues.push({ field: `${field}.weight`, value: weight, expected: 'a finite number > 0' });
  if (!isCount(maxInFlight, 1))
    issues.push({
      field: `${field}.maxInFlight`,
      value: maxInFlight,
      expected: 'an integer >= 1 (or Infinity)',
    });
  if (!isCount(maxQueue, 0))
    issues.push({ field: `${field}.maxQueue`, value: maxQueue, expected: 'an integer >= 0 (or Infinity)' });
  return { weight, maxInFlight, maxQueue } as TenantConfig;
}

/**
 * Checks the `resources` option.
 * @internal
 */
export function resolveResources(option: unknown, issues: ConfigIssue[]): Map<string, number> {
  const resources = new Map<string, number>();
  if (option === undefined) return resources;
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    issues.push({ field: 'resources', value: option, expected: 'an object of unit counts by resource name' });
    return resources;
  }
  for (const [name, units] of Object.entries(option)) {
    const field = `resources[${JSON.stringify(name)}]`;
    if (!RESOURCE_NAME.test(name)) {
      issues.push({
        field,
        value: name,
        expected: 'a name of letters, digits, _ . : - (not starting with a digit), at most 64 characters',
      });
    } else if (!(typeof units === 'number' && Number.isInteger(units) && units >= 1)) {
      issues.push({ field, value: units, expected: 'an integer number of units >= 1' });
    } else resources.set(name, units);
  }
  return resources;
}

/** Checks a run's `tenant` option. @throws TypeError naming it. @internal */
export function checkTenant(tenant: unknown): void {
  if (tenant === undefined) return;
  const issue = tenantNameIssue(tenant);
  if (issue !== undefined) throw new TypeError(`tenant must be ${issue}, got ${describe(tenant)}`);
}

function isCount(value: unknown, min: number): boolean {
  return (
    typeof value === 'number' &&
    (value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= min))
  );
}
