import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OrderCancelledSchema, PaymentRequestedSchema } from '@orderly/order-contract/order_events';
import { CancellationReason } from '@orderly/order-contract/order_service';
import { MemoryBus, newEvent, type EventInit, type ServiceRuntime } from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  recordEvents,
  startTestService,
  testServiceConfig,
} from '@orderly/platform/testing';
import {
  FailureReason,
  PaymentFailedSchema,
  PaymentRefundedSchema,
  PaymentSucceededSchema,
} from '@orderly/payment-contract/payment_events';
import { paymentConfigSchema, paymentService } from '../src/service.js';

/**
 * The payment service's flags: `payment-provider-v2` moves targeted customers to the second
 * simulated provider (other references, an amount limit), and `payment-provider-outage` makes every
 * charge fail fast as PROVIDER_UNAVAILABLE, until it is turned off again.
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-payment-flags-'));
const flagsFile = join(dir, 'flags.json');
const v2Customer = 'customer-on-v2';

function writeFlags(outage: boolean): void {
  writeFileSync(
    flagsFile,
    JSON.stringify({
      $schema: 'https://flagd.dev/schema/v0/flags.json',
      flags: {
        'payment-provider-v2': {
          state: 'ENABLED',
          variants: { on: true, off: false },
          defaultVariant: 'off',
          targeting: {
            if: [
              { in: [{ var: 'targetingKey' }, [v2Customer]] },
              'on',
              {
                fractional: [
                  ['on', 0],
                  ['off', 100],
                ],
              },
            ],
          },
        },
        'payment-provider-outage': {
          state: 'ENABLED',
          variants: { on: true, off: false },
          defaultVariant: outage ? 'on' : 'off',
        },
      },
    }),
  );
}
writeFlags(false);

const config = testServiceConfig('payment', paymentConfigSchema, {
  platform: { flags: { file: flagsFile } },
  service: { providerV2: { declineAboveCents: 10_000 } },
});
const bus = new MemoryBus();
let runtime: ServiceRuntime;
let recorder: Awaited<ReturnType<typeof recordEvents>>;

beforeAll(async () => {
  ({ runtime } = await startTestService(paymentService, { config, bus }));
  recorder = await recordEvents(bus, [
    PaymentSucceededSchema,
    PaymentFailedSchema,
    PaymentRefundedSchema,
  ]);
});

afterAll(async () => {
  await recorder?.stop();
  await runtime?.stop();
  await bus.close();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
  rmSync(dir, { recursive: true, force: true });
});

const aPaymentRequest = (overrides: Partial<EventInit<typeof PaymentRequestedSchema>> = {}) =>
  newEvent(PaymentRequestedSchema, {
    orderId: randomUUID(),
    customerId: 'customer-on-v1',
    amountCents: 4599n,
    paymentMethod: 'pm_card_ok',
    ...overrides,
  });

const of = <T extends { orderId: string }>(events: T[], orderId: string) =>
  events.filter((e) => e.orderId === orderId);

async function payment(orderId: string) {
  const { rows } = await runtime.db.query<{ status: string; provider_ref: string | null }>(
    'SELECT status, provider_ref FROM payments WHERE order_id = $1',
    [orderId],
  );
  return rows[0];
}

/** Waits until the service has applied a new version of the flags file. */
async function flagsChanged(write: () => void): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the file source's first stat is asynchronous
  const applied = new Promise((resolve) => runtime.flags.onChange(resolve));
  write();
  await applied;
}

describe('payment-provider-v2', () => {
  test('when a customer is targeted, then their charge goes to the second provider; others stay on the first', async () => {
    const onV2 = aPaymentRequest({ customerId: v2Customer });
    const onV1 = aPaymentRequest();
    await bus.publish([onV2.bus, onV1.bus]);

    await eventually(() =>
      expect(recorder.of(PaymentSucceededSchema).map((e) => e.orderId)).toEqual(
        expect.arrayContaining([onV2.message.orderId, onV1.message.orderId]),
      ),
    );
    expect((await payment(onV2.message.orderId))?.provider_ref).toMatch(/^sim2_ch_/);
    expect((await payment(onV1.message.orderId))?.provider_ref).toMatch(/^sim_ch_/);
  });

  test('when a targeted customer pays more than the second provider accepts, then it is declined; the first provider takes the same amount', async () => {
    const big = 25_000n;
    const onV2 = aPaymentRequest({ customerId: v2Customer, amountCents: big });
    const onV1 = aPaymentRequest({ amountCents: big });
    await bus.publish([onV2.bus, onV1.bus]);

    await eventually(() =>
      expect(of(recorder.of(PaymentFailedSchema), onV2.message.orderId)).toEqual([
        expect.objectContaining({ reason: FailureReason.DECLINED }),
      ]),
    );
    await eventually(() =>
      expect(of(recorder.of(PaymentSucceededSchema), onV1.message.orderId)).toHaveLength(1),
    );
    expect(await payment(onV2.message.orderId)).toMatchObject({
      status: 'DECLINED',
      provider_ref: null,
    });
  });

  test('when an order paid through the second provider is cancelled, then the refund goes back through it', async () => {
    const onV2 = aPaymentRequest({ customerId: v2Customer });
    await bus.publish([onV2.bus]);
    await eventually(() =>
      expect(of(recorder.of(PaymentSucceededSchema), onV2.message.orderId)).toHaveLength(1),
    );

    await bus.publish([
      newEvent(OrderCancelledSchema, {
        orderId: onV2.message.orderId,
        customerId: v2Customer,
        reason: CancellationReason.TIMED_OUT,
      }).bus,
    ]);

    await eventually(() =>
      expect(of(recorder.of(PaymentRefundedSchema), onV2.message.orderId)).toHaveLength(1),
    );
    expect((await payment(onV2.message.orderId))?.status).toBe('REFUNDED');
  });
});

describe('payment-provider-outage', () => {
  test('when the outage flag is on, then charges fail fast as PROVIDER_UNAVAILABLE; off, they are captured again', async () => {
    await flagsChanged(() => writeFlags(true));
    const duringOutage = aPaymentRequest();
    await bus.publish([duringOutage.bus]);

    await eventually(() =>
      expect(of(recorder.of(PaymentFailedSchema), duringOutage.message.orderId)).toEqual([
        expect.objectContaining({ reason: FailureReason.PROVIDER_UNAVAILABLE }),
      ]),
    );
    expect(await payment(duringOutage.message.orderId)).toMatchObject({
      status: 'DECLINED',
      provider_ref: null,
    });
    const { rows } = await runtime.db.query('SELECT 1 FROM provider_ledger WHERE order_id = $1', [
      duringOutage.message.orderId,
    ]);
    expect(rows).toEqual([]);

    await flagsChanged(() => writeFlags(false));
    const afterOutage = aPaymentRequest();
    await bus.publish([afterOutage.bus]);
    await eventually(() =>
      expect(of(recorder.of(PaymentSucceededSchema), afterOutage.message.orderId)).toHaveLength(1),
    );
  });

  test('when a captured order is cancelled during an outage longer than its redeliveries, then the refund waits (nothing is dead-lettered) and is made once the provider is back', async () => {
    // Arrange
    const paid = aPaymentRequest();
    await bus.publish([paid.bus]);
    await eventually(() =>
      expect(of(recorder.of(PaymentSucceededSchema), paid.message.orderId)).toHaveLength(1),
    );
    await flagsChanged(() => writeFlags(true));

    // Act: the in-memory bus's publish resolves only once the cancellation is settled, so it is not awaited here.
    const cancellation = newEvent(OrderCancelledSchema, {
      orderId: paid.message.orderId,
      customerId: 'customer-on-v1',
      reason: CancellationReason.TIMED_OUT,
    });
    const settled = bus.publish([cancellation.bus]);
    // Many times maxDeliver × the test's redelivery delays (20, 50, 100 ms).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const duringOutage = {
      deadLetters: await bus.listDeadLetters(),
      payment: await payment(paid.message.orderId),
    };
    await flagsChanged(() => writeFlags(false));
    await settled;

    // Assert
    expect(duringOutage.deadLetters).toEqual([]);
    expect(duringOutage.payment?.status).toBe('CAPTURED');
    await eventually(() =>
      expect(of(recorder.of(PaymentRefundedSchema), paid.message.orderId)).toHaveLength(1),
    );
    expect((await payment(paid.message.orderId))?.status).toBe('REFUNDED');
    const { rows } = await runtime.db.query<{ net: string }>(
      `SELECT sum(CASE kind WHEN 'capture' THEN amount_cents ELSE -amount_cents END)::text AS net FROM provider_ledger WHERE order_id = $1`,
      [paid.message.orderId],
    );
    expect(rows[0]?.net).toBe('0');
    expect(await bus.listDeadLetters()).toEqual([]);
  });
});
