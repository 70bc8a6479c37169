import type { Flags, Sql } from '@orderly/platform';
import { paymentProviderUnavailable } from '../domain/payment-errors.js';
import type {
  PaymentProvider,
  ProviderChargeRequest,
  ProviderChargeResult,
  ProviderRefundRequest,
} from '../domain/payment-provider.js';

/** The flags the payment service decides with (documented in docs/flags.md). */
export const paymentFlags = {
  /** Boolean: charge through the second provider; targeted by customer id and percentage. */
  providerV2: 'payment-provider-v2',
  /** Boolean fault: the provider is unreachable; charges answer `unavailable`, refunds fail and retry. */
  providerOutage: 'payment-provider-outage',
} as const;

export interface ProviderRoutes {
  readonly v1: PaymentProvider<Sql> & { readonly refPrefix?: string };
  readonly v2: PaymentProvider<Sql> & { readonly refPrefix: string };
}

/**
 * Chooses the provider of each charge by flag, with the customer as targeting key (so a customer
 * stays on one provider for a rollout percentage), and routes each refund to the provider that made
 * the capture (by reference prefix). With `payment-provider-outage` on, no provider is called.
 * Safe defaults: the first provider, no outage.
 */
export class FlagRoutedPaymentProvider implements PaymentProvider<Sql> {
  constructor(
    private readonly routes: ProviderRoutes,
    private readonly flags: Flags,
  ) {}

  async charge(request: ProviderChargeRequest, tx: Sql): Promise<ProviderChargeResult> {
    const context = { targetingKey: request.customerId, amountCents: Number(request.amountCents) };
    if (await this.flags.boolean(paymentFlags.providerOutage, false, context)) {
      return { outcome: 'unavailable', reason: 'PROVIDER_OUTAGE' };
    }
    const useV2 = await this.flags.boolean(paymentFlags.providerV2, false, context);
    return (useV2 ? this.routes.v2 : this.routes.v1).charge(request, tx);
  }

  async refund(request: ProviderRefundRequest, tx: Sql): Promise<void> {
    if (await this.flags.boolean(paymentFlags.providerOutage, false)) {
      throw paymentProviderUnavailable('the refund');
    }
    const provider = request.providerRef.startsWith(this.routes.v2.refPrefix)
      ? this.routes.v2
      : this.routes.v1;
    await provider.refund(request, tx);
  }
}
