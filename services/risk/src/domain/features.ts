import type { RiskFeatures } from '../plugins/risk-engine.js';

/** An order risk is asked to assess (order.v1.RiskAssessmentRequested). */
export interface AssessmentRequest {
  readonly orderId: string;
  readonly customerId: string;
  readonly amountCents: bigint;
  readonly currency: string;
  readonly lines: readonly { sku: string; quantity: number; unitPriceCents: bigint }[];
  readonly placedAt: Date;
}

/** What risk's own data says about a customer, read once per batch. */
export interface CustomerHistory {
  /** Their orders risk assessed within the window, and those orders' total. */
  readonly orderCount: number;
  readonly amountCents: bigint;
  /** Their orders risk rejected (finally). */
  readonly declines: number;
  /** When risk first saw an order of theirs: account age is "first seen by risk". */
  readonly firstSeenAt: Date | undefined;
}

export const noHistory: CustomerHistory = {
  orderCount: 0,
  amountCents: 0n,
  declines: 0,
  firstSeenAt: undefined,
};

/**
 * The features of each request of a batch, in the batch's order: an order of a customer sees their
 * history plus their earlier orders of the same batch (so two orders arriving together are counted
 * as velocity too).
 */
export function featuresOf(
  requests: readonly AssessmentRequest[],
  history: ReadonlyMap<string, CustomerHistory>,
  windowSeconds: number,
): RiskFeatures[] {
  const seen = new Map<string, CustomerHistory>();
  return requests.map((request) => {
    const before = seen.get(request.customerId) ?? history.get(request.customerId) ?? noHistory;
    const firstSeenAt = before.firstSeenAt ?? request.placedAt;
    seen.set(request.customerId, {
      orderCount: before.orderCount + 1,
      amountCents: before.amountCents + request.amountCents,
      declines: before.declines,
      firstSeenAt,
    });
    return {
      orderId: request.orderId,
      customerId: request.customerId,
      amountMinor: request.amountCents,
      currency: request.currency,
      lines: request.lines.map((line) => ({
        sku: line.sku,
        quantity: line.quantity,
        unitPriceMinor: line.unitPriceCents,
      })),
      customerOrderCount: before.orderCount,
      customerAmountMinor: before.amountCents,
      windowSeconds,
      accountAgeSeconds:
        before.firstSeenAt === undefined
          ? -1
          : Math.max(0, Math.floor((request.placedAt.getTime() - firstSeenAt.getTime()) / 1000)),
      previousDeclines: before.declines,
    };
  });
}
