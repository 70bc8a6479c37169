import { RiskAssessmentRequestedSchema } from '@orderly/order-contract/order_events';
import {
  onBatch,
  type EventHandler,
  type Logger,
  type Outbox,
  type Telemetry,
} from '@orderly/platform';
import type { RiskEngine } from '../plugins/risk-engine.js';
import type { FailPolicy, Thresholds } from '../domain/decision.js';
import { riskStore } from '../data-access/risk-store.js';
import { assessOrders } from '../use-cases/assess-orders.js';
import { prepareRiskAssessed, requestFromEvent } from './risk-event-mapping.js';
import type { RiskMetrics } from './risk-metrics.js';

export const assessmentRequestsSubscription = 'risk.assess-orders';

export interface AssessmentConsumerDeps {
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly telemetry: Pick<Telemetry, 'inSpan'>;
  readonly metrics: RiskMetrics;
  readonly engine: Pick<RiskEngine, 'assess'>;
  readonly clock: () => Date;
  readonly thresholds: () => Thresholds;
  /** The flag `risk-fail-policy`, read once per batch. */
  readonly failPolicy: () => Promise<FailPolicy>;
  readonly windowSeconds: () => number;
  readonly reviewTimeoutMs: () => number;
}

/**
 * `risk.assess-orders`: a batch of RiskAssessmentRequested is scored in one engine call and
 * answered with one RiskAssessed per order (written with one statement), in the inbox transaction.
 */
export function assessmentRequestsHandlers(deps: AssessmentConsumerDeps): EventHandler[] {
  return [
    onBatch(RiskAssessmentRequestedSchema, async (tx, items) => {
      const failPolicy = await deps.failPolicy();
      const records = await deps.telemetry.inSpan(
        'assessOrders',
        { 'risk.batch_size': items.length, 'risk.fail_policy': failPolicy },
        () =>
          assessOrders(
            riskStore(tx),
            deps.engine,
            items.map(({ event }) => requestFromEvent(event)),
            {
              thresholds: deps.thresholds(),
              failPolicy,
              windowSeconds: deps.windowSeconds(),
              reviewTimeoutMs: deps.reviewTimeoutMs(),
              now: deps.clock(),
            },
          ),
      );
      const traceOf = new Map(items.map((item) => [item.event.orderId, item]));
      await deps.outbox.addPrepared(
        tx,
        records.map((record) => {
          const prepare = () =>
            prepareRiskAssessed(deps.outbox, {
              orderId: record.request.orderId,
              customerId: record.request.customerId,
              ...record.decision,
            });
          const cause = traceOf.get(record.request.orderId);
          return cause ? cause.inTrace(prepare) : prepare();
        }),
      );
      for (const record of records) {
        const { decision } = record;
        deps.metrics.decided(decision.decision, decision.decidedBy);
        traceOf.get(record.request.orderId)?.inTrace(() =>
          deps.log.info(
            {
              orderId: record.request.orderId,
              decision: decision.decision,
              decidedBy: decision.decidedBy,
              score: decision.score,
              reasons: decision.reasons,
              plugin: decision.plugin && `${decision.plugin.name}@${decision.plugin.version}`,
              sha256: decision.plugin?.sha256,
              failure: decision.failure,
              attempts: record.attempts,
              shadow: record.shadow?.kind === 'scored' ? record.shadow.score : record.shadow?.kind,
            },
            'order assessed',
          ),
        );
      }
    }),
  ];
}
