import { randomUUID } from 'node:crypto';
import type { Sql } from '@orderly/platform';
import { paymentCaptureNotFound, paymentRefundExceedsCapture } from '../domain/payment-errors.js';
import type {
  PaymentProvider,
  ProviderChargeRequest,
  ProviderChargeResult,
  ProviderRefundRequest,
} from '../domain/payment-provider.js';

/** Test payment methods the simulated provider understands. */
export const simulatedPaymentMethods = {
  /** Always captured. */
  ok: 'pm_card_ok',
  /** Always declined with reason CARD_DECLINED. */
  declined: 'pm_card_declined',
} as const;

/**
 * A payment provider that moves no money: it keeps a ledger (`provider_ledger`) in the payment
 * database, written in the caller's transaction.
 * - `pm_card_ok` is captured; `pm_card_declined` is declined (CARD_DECLINED); any other method is
 *   declined with reason UNKNOWN_PAYMENT_METHOD. Declines leave no ledger entry.
 * - Idempotent like a real provider: a charge or refund with a key it has seen returns the first
 *   outcome and writes nothing new.
 */
export class SimulatedPaymentProvider implements PaymentProvider<Sql> {
  /** Prefix of the provider references of this provider's captures. */
  readonly refPrefix: string = 'sim_ch_';

  constructor(protected readonly clock: () => Date = () => new Date()) {}

  /** A reason to decline a new charge before any ledger entry, or undefined to capture it. */
  protected declineReason(request: ProviderChargeRequest): string | undefined {
    if (request.paymentMethod === simulatedPaymentMethods.declined) return 'CARD_DECLINED';
    if (request.paymentMethod !== simulatedPaymentMethods.ok) return 'UNKNOWN_PAYMENT_METHOD';
    return undefined;
  }

  async charge(request: ProviderChargeRequest, tx: Sql): Promise<ProviderChargeResult> {
    const declined = this.declineReason(request);
    if (declined === undefined) {
      // One statement for a new capture (the common case); a key seen before writes nothing.
      const { rows: captured } = await tx.query<{ provider_ref: string }>(
        `INSERT INTO provider_ledger (kind, order_id, amount_cents, provider_ref, idempotency_key, at)
         VALUES ('capture', $1, $2, $3, $4, $5)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING provider_ref`,
        [
          request.orderId,
          request.amountCents,
          `${this.refPrefix}${randomUUID()}`,
          request.idempotencyKey,
          this.clock(),
        ],
      );
      const providerRef = captured[0]?.provider_ref;
      if (providerRef !== undefined) return { outcome: 'captured', providerRef };
    }
    // A repeated key returns its first outcome, whatever this request says.
    const { rows: seen } = await tx.query<{ provider_ref: string }>(
      `SELECT provider_ref FROM provider_ledger WHERE idempotency_key = $1 AND kind = 'capture'`,
      [request.idempotencyKey],
    );
    const earlier = seen[0];
    if (earlier !== undefined) return { outcome: 'captured', providerRef: earlier.provider_ref };
    if (declined !== undefined) return { outcome: 'declined', reason: declined };
    throw new Error(
      `idempotency key ${request.idempotencyKey} is taken by a ledger entry that is not a capture`,
    );
  }

  async refund(request: ProviderRefundRequest, tx: Sql): Promise<void> {
    const { rows: captures } = await tx.query<{ order_id: string; amount_cents: string }>(
      `SELECT order_id, amount_cents FROM provider_ledger WHERE provider_ref = $1 AND kind = 'capture'`,
      [request.providerRef],
    );
    const capture = captures[0];
    if (capture === undefined) throw paymentCaptureNotFound(request.providerRef);
    if (request.amountCents > BigInt(capture.amount_cents))
      throw paymentRefundExceedsCapture(request.providerRef);
    await tx.query(
      `INSERT INTO provider_ledger (kind, order_id, amount_cents, provider_ref, idempotency_key, at)
       VALUES ('refund', $1, $2, $3, $4, $5)
       ON CONFLICT (idempotency_key) DO NOTHING`,
      [
        capture.order_id,
        request.amountCents,
        request.providerRef,
        request.idempotencyKey,
        this.clock(),
      ],
    );
  }
}
