import type { Telemetry } from '@orderly/platform';
import type { DecidedBy, Decision } from '../domain/decision.js';

/** What the risk service counts (E's engine counts per-plugin latency and failures). */
export interface RiskMetrics {
  decided(decision: Decision, decidedBy: DecidedBy, count?: number): void;
  setOpenReviews(count: number): void;
}

/**
 * `risk.decisions` by decision and decided_by (fail-policy decisions are those with decided_by
 * FAIL_POLICY or REVIEW_TIMEOUT), `risk.fail_policy.decisions`, and the gauge `risk.reviews.open`
 * (the review queue, as the last sweep counted it).
 */
export function riskMetrics(telemetry: Pick<Telemetry, 'meter'>): RiskMetrics {
  const decisions = telemetry.meter.createCounter('risk.decisions', {
    unit: '{decision}',
    description: 'Risk decisions, by decision (APPROVE, REVIEW, REJECT) and who decided.',
  });
  const failPolicy = telemetry.meter.createCounter('risk.fail_policy.decisions', {
    unit: '{decision}',
    description:
      'Decisions made by the fail policy (no plugin could score, or a review timed out).',
  });
  let open = 0;
  telemetry.meter
    .createObservableGauge('risk.reviews.open', {
      unit: '{review}',
      description: 'Orders held for review, as the last review sweep counted them.',
    })
    .addCallback((result) => result.observe(open));
  return {
    decided(decision, decidedBy, count = 1) {
      decisions.add(count, { 'risk.decision': decision, 'risk.decided_by': decidedBy });
      if (decidedBy === 'FAIL_POLICY' || decidedBy === 'REVIEW_TIMEOUT') {
        failPolicy.add(count, { 'risk.decision': decision, 'risk.decided_by': decidedBy });
      }
    },
    setOpenReviews(count) {
      open = count;
    },
  };
}
