import { randomUUID } from 'node:crypto';
import { fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OrderCancelledSchema, PaymentRequestedSchema } from '@orderly/order-contract/order_events';
import { CancellationReason } from '@orderly/order-contract/order_service';
import {
  MemoryBus,
  busHeaders,
  eventSubject,
  newEvent,
  type EventInit,
  type ServiceRuntime,
} from '@orderly/platform';
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

const config = testServiceConfig('payment', paymentConfigSchema);
// A zero duplicate window makes the bus hand a re-published message to the consumers again, as a
// broker redelivery would, so the duplicate tests reach the service's inbox.
const bus = new MemoryBus({ duplicateWindowSize: 0 });
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
});

const aPaymentRequest = (overrides: Partial<EventInit<typeof PaymentRequestedSchema>> = {}) =>
  newEvent(PaymentRequestedSchema, {
    orderId: randomUUID(),
    customerId: 'customer-1',
    amountCents: 4599n,
    paymentMethod: 'pm_card_ok',
    ...overrides,
  });

const anOrderCancellation = (orderId: string) =>
  newEvent(OrderCancelledSchema, {
    orderId,
    customerId: 'customer-1',
    reason: CancellationReason.TIMED_OUT,
  });

/** Resolves once every subscription (the service's consumer included) has settled the event. */
const publish = (event: { bus: Parameters<MemoryBus['publish']>[0][number] }) =>
  bus.publish([event.bus]);

async function ledger(orderId: string): Promise<{ kind: string; amount_cents: string }[]> {
  const { rows } = await runtime.db.query<{ kind: string; amount_cents: string }>(
    'SELECT kind, amount_cents FROM provider_ledger WHERE order_id = $1 ORDER BY id',
    [orderId],
  );
  return rows;
}

async function paymentStatus(orderId: string): Promise<string | undefined> {
  const { rows } = await runtime.db.query<{ status: string }>(
    'SELECT status FROM payments WHERE order_id = $1',
    [orderId],
  );
  return rows[0]?.status;
}

/** Events the service wrote to its outbox for an order (deterministic once `publish` resolved). */
async function outboxEvents<D extends DescMessage>(
  schema: D,
  orderId: string,
): Promise<MessageShape<D>[]> {
  const { rows } = await runtime.db.query<{ payload: Buffer }>(
    'SELECT payload FROM outbox WHERE event_type = $1 ORDER BY seq',
    [schema.typeName],
  );
  return rows
    .map((row) => fromBinary(schema, new Uint8Array(row.payload)))
    .filter((event) => (event as unknown as { orderId: string }).orderId === orderId);
}

const published = <D extends DescMessage>(schema: D, orderId: string) =>
  recorder
    .of(schema)
    .filter((event) => (event as unknown as { orderId: string }).orderId === orderId);

describe('payment.charge (PaymentRequested)', () => {
  test('when the card is ok, then PaymentSucceeded is published and exactly one capture is in the ledger', async () => {
    const request = aPaymentRequest();
    const { orderId } = request.message;

    await publish(request);

    const [succeeded] = await eventually(() => {
      const events = published(PaymentSucceededSchema, orderId);
      expect(events).toHaveLength(1);
      return events;
    });
    expect(succeeded).toMatchObject({ orderId, amountCents: 4599n });
    expect(succeeded?.paymentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await ledger(orderId)).toEqual([{ kind: 'capture', amount_cents: '4599' }]);
    expect(await paymentStatus(orderId)).toBe('CAPTURED');
  });

  test('when the card is declined, then PaymentFailed(DECLINED) is published and nothing is captured', async () => {
    const request = aPaymentRequest({ paymentMethod: 'pm_card_declined' });
    const { orderId } = request.message;

    await publish(request);

    await eventually(() =>
      expect(published(PaymentFailedSchema, orderId)).toEqual([
        expect.objectContaining({ orderId, reason: FailureReason.DECLINED }),
      ]),
    );
    expect(await ledger(orderId)).toEqual([]);
    expect(await paymentStatus(orderId)).toBe('DECLINED');
  });

  test('when the payment method is unknown, then it is declined and nothing is captured', async () => {
    const request = aPaymentRequest({ paymentMethod: 'pm_something_else' });
    const { orderId } = request.message;

    await publish(request);

    expect(await outboxEvents(PaymentFailedSchema, orderId)).toEqual([
      expect.objectContaining({ reason: FailureReason.DECLINED }),
    ]);
    expect(await ledger(orderId)).toEqual([]);
  });

  test('when the same PaymentRequested is delivered twice, then it is charged once', async () => {
    const request = aPaymentRequest();
    const { orderId } = request.message;

    await publish(request);
    await publish(request);

    expect(await ledger(orderId)).toHaveLength(1);
    expect(await outboxEvents(PaymentSucceededSchema, orderId)).toHaveLength(1);
    const { rows } = await runtime.db.query(
      'SELECT 1 FROM inbox WHERE subscription = $1 AND event_id = $2',
      ['payment.charge', request.message.eventId],
    );
    expect(rows).toHaveLength(1);
  });

  test('when a second PaymentRequested with another event id arrives for the same order, then it is still charged once', async () => {
    const first = aPaymentRequest();
    const { orderId } = first.message;
    const second = aPaymentRequest({ orderId, amountCents: 9999n });

    await publish(first);
    await publish(second);

    expect(await ledger(orderId)).toEqual([{ kind: 'capture', amount_cents: '4599' }]);
    expect(await outboxEvents(PaymentSucceededSchema, orderId)).toHaveLength(1);
    expect(await outboxEvents(PaymentFailedSchema, orderId)).toHaveLength(0);
  });

  test('when the payload cannot be decoded, then the message ends in the dead letters', async () => {
    const eventId = randomUUID();

    await bus.publish([
      {
        subject: eventSubject(PaymentRequestedSchema),
        id: eventId,
        data: new TextEncoder().encode('not a protobuf message'),
        headers: {
          [busHeaders.eventId]: eventId,
          [busHeaders.eventType]: PaymentRequestedSchema.typeName,
        },
      },
    ]);

    const deadLetters = await bus.listDeadLetters();
    expect(deadLetters).toContainEqual(
      expect.objectContaining({
        eventId,
        subscription: 'payment.charge',
        error: expect.stringContaining('PaymentRequested') as string,
      }),
    );
  });

  test('when the amount is not positive, then the request ends in the dead letters and nothing is charged', async () => {
    const request = aPaymentRequest({ amountCents: 0n });
    const { orderId } = request.message;

    await publish(request);

    expect(await bus.listDeadLetters()).toContainEqual(
      expect.objectContaining({ eventId: request.message.eventId, subscription: 'payment.charge' }),
    );
    expect(await ledger(orderId)).toEqual([]);
    expect(await paymentStatus(orderId)).toBeUndefined();
  });
});

describe('payment.refunds (OrderCancelled)', () => {
  test('when a captured order is cancelled, then the capture is refunded and PaymentRefunded is published', async () => {
    const request = aPaymentRequest();
    const { orderId } = request.message;
    await publish(request);

    await publish(anOrderCancellation(orderId));

    await eventually(() =>
      expect(published(PaymentRefundedSchema, orderId)).toEqual([
        expect.objectContaining({ orderId, amountCents: 4599n }),
      ]),
    );
    const [succeeded] = await outboxEvents(PaymentSucceededSchema, orderId);
    expect((await outboxEvents(PaymentRefundedSchema, orderId))[0]?.paymentId).toBe(
      succeeded?.paymentId,
    );
    expect(await ledger(orderId)).toEqual([
      { kind: 'capture', amount_cents: '4599' },
      { kind: 'refund', amount_cents: '4599' },
    ]);
    expect(await paymentStatus(orderId)).toBe('REFUNDED');
  });

  test('when a refunded order is cancelled again (another event id), then it is not refunded twice', async () => {
    const request = aPaymentRequest();
    const { orderId } = request.message;
    await publish(request);

    await publish(anOrderCancellation(orderId));
    await publish(anOrderCancellation(orderId));

    expect((await ledger(orderId)).filter((entry) => entry.kind === 'refund')).toHaveLength(1);
    expect(await outboxEvents(PaymentRefundedSchema, orderId)).toHaveLength(1);
  });

  test('when the same OrderCancelled is delivered twice, then it is refunded once', async () => {
    const request = aPaymentRequest();
    const { orderId } = request.message;
    await publish(request);
    const cancellation = anOrderCancellation(orderId);

    await publish(cancellation);
    await publish(cancellation);

    expect((await ledger(orderId)).filter((entry) => entry.kind === 'refund')).toHaveLength(1);
    expect(await outboxEvents(PaymentRefundedSchema, orderId)).toHaveLength(1);
  });

  test('when an order is cancelled before its payment is requested, then it is voided and a later request is refused without a charge', async () => {
    const orderId = randomUUID();

    await publish(anOrderCancellation(orderId));
    expect(await paymentStatus(orderId)).toBe('VOIDED');

    await publish(aPaymentRequest({ orderId }));

    await eventually(() =>
      expect(published(PaymentFailedSchema, orderId)).toEqual([
        expect.objectContaining({ orderId, reason: FailureReason.ORDER_ALREADY_CANCELLED }),
      ]),
    );
    expect(await ledger(orderId)).toEqual([]);
    expect(await paymentStatus(orderId)).toBe('VOIDED');
  });

  test("when the customer cancels while the order's PaymentRequested is still in flight, then the later request is refused and nothing is ever charged", async () => {
    const orderId = randomUUID();
    const customerCancellation = newEvent(OrderCancelledSchema, {
      orderId,
      customerId: 'customer-1',
      reason: CancellationReason.CUSTOMER_REQUESTED,
      reservationId: randomUUID(),
    });

    await publish(customerCancellation);
    await publish(aPaymentRequest({ orderId }));

    await eventually(() =>
      expect(published(PaymentFailedSchema, orderId)).toEqual([
        expect.objectContaining({ reason: FailureReason.ORDER_ALREADY_CANCELLED }),
      ]),
    );
    expect(await ledger(orderId)).toEqual([]);
    expect(published(PaymentSucceededSchema, orderId)).toEqual([]);
  });

  test('when the customer cancels a confirmed order, then its capture is refunded in full, once', async () => {
    const request = aPaymentRequest({ amountCents: 1234n });
    const { orderId } = request.message;
    await publish(request);
    const customerCancellation = newEvent(OrderCancelledSchema, {
      orderId,
      customerId: 'customer-1',
      reason: CancellationReason.CUSTOMER_REQUESTED,
      reservationId: randomUUID(),
      confirmedAt: request.message.occurredAt,
    });

    await publish(customerCancellation);
    await publish({ bus: { ...customerCancellation.bus, id: randomUUID() } });

    expect(await ledger(orderId)).toEqual([
      { kind: 'capture', amount_cents: '1234' },
      { kind: 'refund', amount_cents: '1234' },
    ]);
    expect(await paymentStatus(orderId)).toBe('REFUNDED');
  });

  test('when a declined order is cancelled, then nothing is refunded', async () => {
    const request = aPaymentRequest({ paymentMethod: 'pm_card_declined' });
    const { orderId } = request.message;
    await publish(request);

    await publish(anOrderCancellation(orderId));

    expect(await ledger(orderId)).toEqual([]);
    expect(await paymentStatus(orderId)).toBe('DECLINED');
    expect(await outboxEvents(PaymentRefundedSchema, orderId)).toEqual([]);
  });

  test('when the payload cannot be decoded, then the message ends in the dead letters', async () => {
    const eventId = randomUUID();

    await bus.publish([
      {
        subject: eventSubject(OrderCancelledSchema),
        id: eventId,
        data: new TextEncoder().encode('not a protobuf message'),
        headers: {
          [busHeaders.eventId]: eventId,
          [busHeaders.eventType]: OrderCancelledSchema.typeName,
        },
      },
    ]);

    expect(await bus.listDeadLetters()).toContainEqual(
      expect.objectContaining({ eventId, subscription: 'payment.refunds' }),
    );
  });
});
