/**
 * Flattens whatever a task throws into a {@link SerializedError}, so that it survives the trip
 * to the main thread with its details: an Error from this thread or another realm (a `vm`
 * context), a subclass with a `code`, or any thrown value at all (a plain object, a string).
 * @module
 */
import { inspect, types } from 'node:util';
import { cloneIssue } from './clone-check.js';
import type { SerializedError } from './protocol.js';

/** Properties carried in their own fields, not among `props`. */
const OWN_FIELDS = new Set(['name', 'message', 'stack', 'code']);

/** Serializes a thrown value. */
export function serializeError(error: unknown): SerializedError {
  const code = stringField(error, 'code');
  const props = enumerableProps(error);
  if (isErrorLike(error)) {
    return { name: error.name, message: error.message, stack: stringField(error, 'stack'), code, props };
  }
  return {
    name: typeof error === 'object' && error !== null ? constructorName(error) : typeof error,
    message: typeof error === 'string' ? error : inspect(error, { depth: 4, breakLength: Infinity }),
    stack: undefined,
    code,
    props,
  };
}

/** The class of a thrown non-error object: `Object` for a plain one (or one without a prototype). */
function constructorName(value: object): string {
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' ? ctor.name : 'Object';
}

/** An Error of any realm, or an object shaped like one. */
function isErrorLike(value: unknown): value is { name: string; message: string } {
  if (types.isNativeError(value) || value instanceof Error) return true;
  return stringField(value, 'message') !== undefined && stringField(value, 'name') !== undefined;
}

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
}

/** The other enumerable own properties: as they are if they can be cloned, else inspected. */
function enumerableProps(error: unknown): Record<string, unknown> | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  let props: Record<string, unknown> | undefined;
  for (const key of Object.keys(error)) {
    if (OWN_FIELDS.has(key)) continue;
    const value = (error as Record<string, unknown>)[key];
    props ??= {};
    props[key] = cloneIssue(value, key) === undefined ? value : inspect(value, { depth: 2 });
  }
  return props;
}

/** The error for a result that cannot be sent back: the task ran, but its value cannot leave the thread. */
export function unclonable(issue: string): SerializedError {
  return {
    name: 'DataCloneError',
    message: `${issue}, so it cannot be sent to the main thread`,
    stack: undefined,
    code: undefined,
    kind: 'data-clone',
  };
}
