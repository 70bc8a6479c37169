import { fileURLToPath } from 'node:url';
import {
  consumedEventVersions,
  defineService,
  handlersForVersions,
  type ServiceContext,
  type Sql,
} from '@orderly/platform';
import packageJson from '../package.json' with { type: 'json' };
import { paymentConfigSchema, type PaymentConfig } from './config.js';
import type { PaymentProvider } from './domain/payment-provider.js';
import { SimulatedPaymentProvider } from './data-access/simulated-provider.js';
import { SimulatedPaymentProviderV2 } from './data-access/simulated-provider-v2.js';
import { FlagRoutedPaymentProvider } from './data-access/flag-routed-provider.js';
import { orderCancellationsHandlers } from './entry-points/order-cancellations-consumer.js';
import { paymentRequestsHandlers } from './entry-points/payment-requests-consumer.js';
import { paymentTimeline } from './data-access/console-queries.js';

export { paymentConfigSchema, type PaymentConfig } from './config.js';

/** Event subscriptions of the payment service. */
export const paymentSubscriptions = {
  charge: 'payment.charge',
  refunds: 'payment.refunds',
} as const;

/** What a test may put in place of the payment service's own adapters. */
export interface PaymentAdapters {
  /**
   * The first provider; by default the simulated one, which keeps its ledger in the payment
   * database. The flag `payment-provider-v2` moves chosen customers to the second simulated provider.
   */
  readonly provider: PaymentProvider<Sql>;
}

/**
 * The payment service: no RPC API, only the consumers of PaymentRequested and OrderCancelled (plus
 * health endpoints).
 */
export const paymentService = defineService({
  name: 'payment',
  configSchema: paymentConfigSchema,
  database: { migrationsPath: fileURLToPath(new URL('./data-access/migrations', import.meta.url)) },
  wire(runtime, { live, clock, adapters }: ServiceContext<PaymentConfig, PaymentAdapters>) {
    const provider = new FlagRoutedPaymentProvider(
      {
        v1: adapters.provider ?? new SimulatedPaymentProvider(clock),
        v2: new SimulatedPaymentProviderV2(clock, () => live.service.providerV2.declineAboveCents),
      },
      runtime.flags,
    );
    const deps = {
      outbox: runtime.outbox,
      provider,
      log: runtime.log,
      clock,
      providerConcurrency: () => live.service.providerConcurrency,
    };
    // Batched: each handler locks only its own order's payment rows.
    // Each subscription holds every version of its events it reads (applied once, see
    // docs/contracts.md); which versions: package.json's declaration, narrowed by configuration.
    const versions = consumedEventVersions(
      { service: 'payment', producer: 'order', declared: packageJson.orderly.consumes.order },
      live.service.orderEvents?.versions,
    );
    runtime.consume(
      paymentSubscriptions.charge,
      handlersForVersions(paymentRequestsHandlers(deps), versions),
      { batched: true },
    );
    runtime.consume(
      paymentSubscriptions.refunds,
      handlersForVersions(orderCancellationsHandlers(deps), versions),
      { batched: true },
    );
    runtime.timeline((orderId, signal) => paymentTimeline(runtime.db, orderId, signal));
  },
});
