import { describe } from '../internal/validate.js';
import type { AdaptiveConfig } from './config.js';
import type { Controller } from './controller.js';
import { ADAPT_REASONS, type AdaptSample } from './sample.js';

/** Custom reasons a controller may add to the built-in ones as metric labels; the rest are `other`. */
export const MAX_CUSTOM_REASONS = 8;

/** The longest custom reason kept as a label; a longer one is `other`. */
export const MAX_REASON_LENGTH = 64;

/** The label of every reason past the bound. */
export const OTHER_REASON = 'other';

const BUILT_IN: ReadonlySet<string> = new Set(ADAPT_REASONS);

/** A decision that passed the guard: a finite limit and a bounded reason. */
export interface CheckedDecision {
  readonly limit: number;
  readonly reason: string;
}

/**
 * Stands between the adaptation loop and a controller it does not own (a custom one): a
 * controller that throws, or answers with something other than a finite limit, costs one
 * warning per kind of fault and the interval's decision (the limit holds), never the process.
 * Reasons become metric labels, so they are bounded: the built-in reasons, plus the first
 * {@link MAX_CUSTOM_REASONS} distinct custom strings of at most {@link MAX_REASON_LENGTH}
 * characters; any other reason is reported as `other`.
 * @internal
 */
export class DecisionGuard {
  readonly #controller: Controller;
  readonly #warn: (message: string) => void;
  readonly #custom = new Set<string>();
  readonly #warned = new Set<'threw' | 'invalid'>();

  constructor(controller: Controller, warn: (message: string) => void) {
    this.#controller = controller;
    this.#warn = warn;
  }

  /** The controller's decision, or undefined when it has none to give (the limit holds). */
  decide(sample: AdaptSample, config: AdaptiveConfig): CheckedDecision | undefined {
    let decision: unknown;
    try {
      decision = this.#controller.decide(sample, config);
    } catch (error) {
      this.#fault('threw', `threw ${error instanceof Error ? String(error) : describe(error)}`, sample);
      return undefined;
    }
    const limit: unknown = isObject(decision) ? decision['limit'] : undefined;
    if (typeof limit !== 'number' || !Number.isFinite(limit)) {
      const what = isObject(decision) ? `limit ${describe(limit)}` : describe(decision);
      this.#fault('invalid', `answered ${what} (expected { limit: a finite number, reason })`, sample);
      return undefined;
    }
    return { limit, reason: this.#label(isObject(decision) ? decision['reason'] : undefined) };
  }

  #fault(kind: 'threw' | 'invalid', what: string, sample: AdaptSample): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    this.#warn(
      `The ${describe(this.#controller.name)} controller ${what}; the limit holds at ${sample.limit}`,
    );
  }

  #label(reason: unknown): string {
    if (typeof reason !== 'string') return OTHER_REASON;
    if (BUILT_IN.has(reason) || this.#custom.has(reason)) return reason;
    if (reason.length === 0 || reason.length > MAX_REASON_LENGTH || this.#custom.size >= MAX_CUSTOM_REASONS)
      return OTHER_REASON;
    this.#custom.add(reason);
    return reason;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
