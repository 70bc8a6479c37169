import type { RiskEngine } from '../plugins/risk-engine.js';
import { decide, type FailPolicy, type Thresholds } from '../domain/decision.js';
import { featuresOf, type AssessmentRequest } from '../domain/features.js';
import type { AssessmentRecord, RiskStore } from '../domain/risk-store.js';

export interface AssessmentSettings {
  readonly thresholds: Thresholds;
  /** The flag `risk-fail-policy`, read once for the batch. */
  readonly failPolicy: FailPolicy;
  readonly windowSeconds: number;
  readonly reviewTimeoutMs: number;
  readonly now: Date;
}

/**
 * Assesses a batch of orders: the ones not assessed yet (a repeated request is answered once) get
 * their features from risk's own history, are scored by the engine in one call, and are decided by
 * score or, where no plugin could score them, by the fail policy (marked). Stores every assessment
 * and opens a review for each REVIEW; returns what was decided, for the caller to publish.
 */
export async function assessOrders(
  store: Pick<RiskStore, 'assessedAmong' | 'customerHistory' | 'insertAssessments'>,
  engine: Pick<RiskEngine, 'assess'>,
  requests: readonly AssessmentRequest[],
  settings: AssessmentSettings,
  signal?: AbortSignal,
): Promise<AssessmentRecord[]> {
  const assessed = await store.assessedAmong(requests.map((r) => r.orderId));
  const seen = new Set<string>();
  const fresh = requests.filter((request) => {
    if (assessed.has(request.orderId) || seen.has(request.orderId)) return false;
    seen.add(request.orderId);
    return true;
  });
  if (fresh.length === 0) return [];
  const windowStart = new Date(settings.now.getTime() - settings.windowSeconds * 1000);
  const history = await store.customerHistory(
    fresh.map((r) => r.customerId),
    windowStart,
  );
  const features = featuresOf(fresh, history, settings.windowSeconds);
  const outcomes = await engine.assess(features, signal);
  const records = fresh.map((request, index): AssessmentRecord => {
    const assessment = outcomes[index];
    const enforced = assessment?.enforced ?? {
      kind: 'failed' as const,
      failure: 'invalid-output' as const,
      detail: 'the engine returned no outcome for this order',
      durationMs: 0,
    };
    return {
      request,
      decision: decide(enforced, settings.thresholds, settings.failPolicy),
      shadow: assessment?.shadow,
      attempts: enforced.attempts,
      assessedAt: settings.now,
    };
  });
  await store.insertAssessments(
    records,
    new Date(settings.now.getTime() + settings.reviewTimeoutMs),
  );
  return records;
}
