import type { ProviderChargeRequest } from '../domain/payment-provider.js';
import { SimulatedPaymentProvider } from './simulated-provider.js';

/**
 * The second simulated provider, rolled out with the flag `payment-provider-v2`. It shares the
 * ledger and the idempotency of the first one, and differs where a real migration would:
 * - its references start with `sim2_ch_` (refunds are routed back to it by that prefix);
 * - it declines any charge above `services.payment.providerV2.declineAboveCents` with reason
 *   AMOUNT_OVER_LIMIT (the first provider has no limit);
 * - payment methods behave as with the first one (`pm_card_ok` captured, `pm_card_declined` declined).
 */
export class SimulatedPaymentProviderV2 extends SimulatedPaymentProvider {
  override readonly refPrefix = 'sim2_ch_';

  constructor(
    clock: () => Date,
    private readonly declineAboveCents: () => number,
  ) {
    super(clock);
  }

  protected override declineReason(request: ProviderChargeRequest): string | undefined {
    if (request.amountCents > BigInt(this.declineAboveCents())) return 'AMOUNT_OVER_LIMIT';
    return super.declineReason(request);
  }
}
