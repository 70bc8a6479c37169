import { fileURLToPath } from 'node:url';
import {
  liveConfigOf,
  ServiceRuntime,
  type Bus,
  type Flags,
  type Logger,
  type ServiceConfig,
  type Sql,
} from '@orderly/platform';
import type { PaymentConfig } from './config.js';
import type { PaymentProvider } from './domain/payment-provider.js';
import { SimulatedPaymentProvider } from './data-access/simulated-provider.js';
import { SimulatedPaymentProviderV2 } from './data-access/simulated-provider-v2.js';
import { FlagRoutedPaymentProvider } from './data-access/flag-routed-provider.js';
import { orderCancellationsHandlers } from './entry-points/order-cancellations-consumer.js';
import { paymentRequestsHandlers } from './entry-points/payment-requests-consumer.js';

export { paymentConfigSchema, type PaymentConfig } from './config.js';

const migrationsPath = fileURLToPath(new URL('./data-access/migrations', import.meta.url));

/** Event subscriptions of the payment service. */
export const paymentSubscriptions = {
  charge: 'payment.charge',
  refunds: 'payment.refunds',
} as const;

export interface PaymentServiceOptions {
  readonly config: ServiceConfig<PaymentConfig>;
  readonly bus?: Bus;
  readonly flags?: Flags;
  readonly log?: Logger;
  readonly clock?: () => Date;
  /**
   * The first provider; defaults to the simulated one, which keeps its ledger in the payment
   * database. The flag `payment-provider-v2` moves chosen customers to the second simulated provider.
   */
  readonly provider?: PaymentProvider<Sql>;
}

/**
 * Builds the payment service: it has no RPC API, only the consumers of PaymentRequested and
 * OrderCancelled (plus health endpoints). Returned not started.
 */
export async function createPaymentService(
  options: PaymentServiceOptions,
): Promise<ServiceRuntime> {
  const config = liveConfigOf(options.config, 'payment');
  const runtime = await ServiceRuntime.create({
    name: 'payment',
    platform: config.platform,
    http: {
      host: config.service.host,
      port: config.service.port,
      operatorPort: config.service.operatorPort,
    },
    database: { name: config.service.database, migrationsPath },
    bus: options.bus,
    log: options.log,
    config,
    flags: options.flags,
  });
  const clock = options.clock ?? (() => new Date());
  const provider = new FlagRoutedPaymentProvider(
    {
      v1: options.provider ?? new SimulatedPaymentProvider(clock),
      v2: new SimulatedPaymentProviderV2(clock, () => config.service.providerV2.declineAboveCents),
    },
    runtime.flags,
  );
  const deps = {
    outbox: runtime.outbox,
    provider,
    log: runtime.log,
    clock,
    providerConcurrency: () => config.service.providerConcurrency,
  };
  // Batched: each handler locks only its own order's payment rows.
  runtime.consume(paymentSubscriptions.charge, paymentRequestsHandlers(deps), { batched: true });
  runtime.consume(paymentSubscriptions.refunds, orderCancellationsHandlers(deps), {
    batched: true,
  });
  return runtime;
}
