import type { PluginOutcome, PluginRef } from '../plugins/risk-engine.js';

/**
 * What risk decides about an order, and who decided. Pure: the score thresholds and the fail
 * policy are passed in (config and the flag `risk-fail-policy`).
 */
export type Decision = 'APPROVE' | 'REVIEW' | 'REJECT';
export type DecidedBy = 'RULE' | 'FAIL_POLICY' | 'ADMIN' | 'REVIEW_TIMEOUT';
export type FailPolicy = 'approve' | 'review' | 'reject';

export const failPolicies: readonly FailPolicy[] = ['approve', 'review', 'reject'];

/** The fail policy as safe as it gets, for a flag value that names none. */
export const defaultFailPolicy: FailPolicy = 'review';

export function asFailPolicy(value: string): FailPolicy {
  return (failPolicies as readonly string[]).includes(value)
    ? (value as FailPolicy)
    : defaultFailPolicy;
}

export interface Thresholds {
  /** Score at or above which the order is held for review. */
  readonly review: number;
  /** Score at or above which the order is rejected. */
  readonly reject: number;
}

export interface RiskDecision {
  readonly decision: Decision;
  readonly decidedBy: DecidedBy;
  readonly reasons: readonly string[];
  readonly score: number;
  readonly plugin: PluginRef | undefined;
  /** Made by the fail policy rather than a rule or an admin. */
  readonly failPolicy: boolean;
  /** Why no plugin scored the order (`timeout`, `trap`, ...), when the fail policy decided. */
  readonly failure: string | undefined;
}

const policyDecision: Readonly<Record<FailPolicy, Decision>> = {
  approve: 'APPROVE',
  review: 'REVIEW',
  reject: 'REJECT',
};

/** A scored order by its score; a failed one by the fail policy, marked as such. */
export function decide(
  outcome: PluginOutcome,
  thresholds: Thresholds,
  policy: FailPolicy,
): RiskDecision {
  if (outcome.kind === 'scored') {
    const decision =
      outcome.score >= thresholds.reject
        ? 'REJECT'
        : outcome.score >= thresholds.review
          ? 'REVIEW'
          : 'APPROVE';
    return {
      decision,
      decidedBy: 'RULE',
      reasons: outcome.reasons,
      score: outcome.score,
      plugin: outcome.plugin,
      failPolicy: false,
      failure: undefined,
    };
  }
  return {
    decision: policyDecision[policy],
    decidedBy: 'FAIL_POLICY',
    reasons: [`FAIL_POLICY_${outcome.failure.toUpperCase().replaceAll('-', '_')}`],
    score: 0,
    plugin: outcome.plugin,
    failPolicy: true,
    failure: outcome.failure,
  };
}

/**
 * A review nobody decided in time gets the fail policy. `review` cannot hold the order again (its
 * stock is reserved meanwhile), so it falls back to REJECT: nothing was charged, the stock returns.
 */
export function reviewTimeoutDecision(policy: FailPolicy): 'APPROVE' | 'REJECT' {
  return policy === 'approve' ? 'APPROVE' : 'REJECT';
}
