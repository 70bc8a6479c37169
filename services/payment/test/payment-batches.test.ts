import { randomUUID } from 'node:crypto';
import { fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { OrderCancelledSchema, PaymentRequestedSchema } from '@orderly/order-contract/order_events';
import { CancellationReason } from '@orderly/order-contract/order_service';
import { MemoryBus, newEvent, type EventInit, type ServiceRuntime } from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  recordTransactions,
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
import { orderLockNamespace } from '../src/data-access/payment-repository.js';

/**
 * Requests and cancellations that arrive together are applied as one run (set-based): these tests
 * publish several events in one `bus.publish`, which the in-memory bus delivers at once, so the
 * subscription's consumer applies them as one batch.
 */
const config = testServiceConfig('payment', paymentConfigSchema);
// A zero duplicate window hands a re-published message to the consumers again, as a redelivery would.
const bus = new MemoryBus({ duplicateWindowSize: 0 });
let runtime: ServiceRuntime;
let sql: ReturnType<typeof recordTransactions>;

beforeAll(async () => {
  ({ runtime } = await startTestService(paymentService, { config, bus }));
  sql = recordTransactions(config.service.database);
});

afterEach(() => sql.clear());

afterAll(async () => {
  sql?.stop();
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

/** Publishes the events together; resolves once the service settled every one (acked or dead-lettered). */
const publishTogether = (...events: { bus: Parameters<MemoryBus['publish']>[0][number] }[]) =>
  bus.publish(events.map((e) => e.bus));

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

/** Events the service wrote to its outbox for an order (committed before the ack). */
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

describe('payment.charge, a batch of PaymentRequested', () => {
  test('when two PaymentRequested for one order arrive in one batch, then it is charged once, for the first', async () => {
    // Arrange
    const first = aPaymentRequest();
    const { orderId } = first.message;
    const second = aPaymentRequest({ orderId, amountCents: 9999n });

    // Act
    await publishTogether(first, second);

    // Assert
    expect(await ledger(orderId)).toEqual([{ kind: 'capture', amount_cents: '4599' }]);
    expect(await outboxEvents(PaymentSucceededSchema, orderId)).toEqual([
      expect.objectContaining({ amountCents: 4599n }),
    ]);
    expect(await outboxEvents(PaymentFailedSchema, orderId)).toEqual([]);
    expect(await paymentStatus(orderId)).toBe('CAPTURED');
    // Decided in one transaction that committed, not sorted out by rolling the batch back.
    const applied = sql.of('payment.charge');
    expect(applied.map((t) => t.outcome)).toEqual(['COMMIT']);
    expect(applied[0]?.statements.join('\n')).toContain(second.message.eventId);
  });

  test('when a declined request and a second request for the same order arrive in one batch, then the second finds the decline and nothing is charged', async () => {
    // Arrange
    const declined = aPaymentRequest({ paymentMethod: 'pm_card_declined' });
    const { orderId } = declined.message;

    // Act
    await publishTogether(declined, aPaymentRequest({ orderId, paymentMethod: 'pm_card_ok' }));

    // Assert
    expect(await ledger(orderId)).toEqual([]);
    expect(await outboxEvents(PaymentFailedSchema, orderId)).toEqual([
      expect.objectContaining({ reason: FailureReason.DECLINED }),
    ]);
    expect(await outboxEvents(PaymentSucceededSchema, orderId)).toEqual([]);
    expect(await paymentStatus(orderId)).toBe('DECLINED');
    expect(sql.of('payment.charge').map((t) => t.outcome)).toEqual(['COMMIT']);
  });

  test('when a batch holds a redelivered request, a duplicate and a request that can never be charged, then each order is charged once and only the bad request is dead-lettered', async () => {
    // Arrange
    const redelivered = aPaymentRequest();
    await publishTogether(redelivered);
    const a = aPaymentRequest();
    const b = aPaymentRequest({ amountCents: 1234n });
    const bad = aPaymentRequest({ amountCents: 0n });
    const before = new Set((await bus.listDeadLetters()).map((d) => d.eventId));

    // Act: the bad request fails the batch, whose requests are then applied one by one.
    await publishTogether(a, redelivered, b, aPaymentRequest({ orderId: a.message.orderId }), bad);

    // Assert
    for (const request of [redelivered, a, b]) {
      const { orderId, amountCents } = request.message;
      expect(await ledger(orderId)).toEqual([
        { kind: 'capture', amount_cents: String(amountCents) },
      ]);
      expect(await outboxEvents(PaymentSucceededSchema, orderId)).toHaveLength(1);
    }
    const added = (await bus.listDeadLetters()).filter((d) => !before.has(d.eventId));
    expect(added.map((d) => d.eventId)).toEqual([bad.message.eventId]);
    expect(await ledger(bad.message.orderId)).toEqual([]);
    expect(await paymentStatus(bad.message.orderId)).toBeUndefined();
  });

  test('when many requests arrive together, then the payment records take a fixed handful of statements, not a group per request', async () => {
    // Arrange
    const requests = Array.from({ length: 20 }, () => aPaymentRequest());

    // Act
    await publishTogether(...requests);

    // Assert
    for (const request of requests) {
      expect(await ledger(request.message.orderId)).toHaveLength(1);
      expect(await outboxEvents(PaymentSucceededSchema, request.message.orderId)).toHaveLength(1);
    }
    const applied = sql.of('payment.charge');
    expect(applied.map((t) => t.outcome)).toEqual(['COMMIT']);
    // BEGIN with the inbox rows, lock, read, insert the payments, write the events, COMMIT; the
    // simulated provider's own ledger statements stand for its remote calls and are left out.
    // One request at a time it was four such statements per request plus BEGIN and COMMIT.
    const own = applied[0]!.statements.filter((s) => !s.includes('provider_ledger'));
    expect(own).toHaveLength(6);
    // The provider calls ran side by side, their statements one at a time on the connection.
    expect(sql.overlapping()).toBe(0);
  });
});

describe('payment.refunds, a batch of OrderCancelled', () => {
  test('when two OrderCancelled for one captured order arrive in one batch, then it is refunded once', async () => {
    // Arrange
    const captured = aPaymentRequest();
    const { orderId } = captured.message;
    const neverPaid = randomUUID();
    await publishTogether(captured);

    // Act
    await publishTogether(
      anOrderCancellation(orderId),
      anOrderCancellation(neverPaid),
      anOrderCancellation(orderId),
      anOrderCancellation(neverPaid),
    );

    // Assert
    expect(await ledger(orderId)).toEqual([
      { kind: 'capture', amount_cents: '4599' },
      { kind: 'refund', amount_cents: '4599' },
    ]);
    expect(await outboxEvents(PaymentRefundedSchema, orderId)).toHaveLength(1);
    expect(await paymentStatus(orderId)).toBe('REFUNDED');
    expect(await paymentStatus(neverPaid)).toBe('VOIDED');
    expect(sql.of('payment.refunds').map((t) => t.outcome)).toEqual(['COMMIT']);

    // A request that comes after the void is refused without a charge.
    await publishTogether(aPaymentRequest({ orderId: neverPaid }));
    expect(await ledger(neverPaid)).toEqual([]);
    expect(await outboxEvents(PaymentFailedSchema, neverPaid)).toEqual([
      expect.objectContaining({ reason: FailureReason.ORDER_ALREADY_CANCELLED }),
    ]);
  });

  test('when a batch of cancellations holds one with no order id, then it alone is dead-lettered and the others are refunded', async () => {
    // Arrange
    const requests = [aPaymentRequest(), aPaymentRequest()];
    await publishTogether(...requests);
    const bad = anOrderCancellation('');
    const before = new Set((await bus.listDeadLetters()).map((d) => d.eventId));

    // Act
    await publishTogether(
      anOrderCancellation(requests[0]!.message.orderId),
      bad,
      anOrderCancellation(requests[1]!.message.orderId),
    );

    // Assert
    for (const request of requests) {
      expect(await paymentStatus(request.message.orderId)).toBe('REFUNDED');
      expect(await outboxEvents(PaymentRefundedSchema, request.message.orderId)).toHaveLength(1);
    }
    const added = (await bus.listDeadLetters()).filter((d) => !before.has(d.eventId));
    expect(added.map((d) => d.eventId)).toEqual([bad.message.eventId]);
  });

  test('when a batch of requests and a batch of cancellations for the same orders wait for each other, then neither deadlocks, every order is charged at most once and every charge is refunded', async () => {
    // Arrange: the cancellations come in the opposite order; the test holds the lock of the
    // middle order, so each run stops there holding what it took, until the test lets go.
    const requests = Array.from({ length: 20 }, () => aPaymentRequest());
    const cancellations = requests.map((r) => anOrderCancellation(r.message.orderId)).reverse();
    const waiting = (count: number) =>
      eventually(async () => {
        const { rows } = await runtime.db.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event = 'advisory'`,
        );
        expect(rows[0]?.waiting).toBe(count);
      });
    let published: Promise<unknown> | undefined;

    // Act
    await runtime.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        orderLockNamespace,
        requests[10]!.message.orderId,
      ]);
      published = Promise.all([publishTogether(...requests), publishTogether(...cancellations)]);
      await waiting(2);
    });
    await published;

    // Assert
    for (const request of requests) {
      const { orderId } = request.message;
      const kinds = (await ledger(orderId)).map((entry) => entry.kind);
      const status = await paymentStatus(orderId);
      if (status === 'REFUNDED') {
        expect(kinds).toEqual(['capture', 'refund']);
        expect(await outboxEvents(PaymentRefundedSchema, orderId)).toHaveLength(1);
      } else {
        expect(status).toBe('VOIDED');
        expect(kinds).toEqual([]);
        expect(await outboxEvents(PaymentFailedSchema, orderId)).toEqual([
          expect.objectContaining({ reason: FailureReason.ORDER_ALREADY_CANCELLED }),
        ]);
      }
    }
    // Locks taken in one order: neither run was chosen as a deadlock victim and rolled back.
    const applied = [...sql.of('payment.charge'), ...sql.of('payment.refunds')];
    expect(applied.map((t) => t.outcome)).toEqual(['COMMIT', 'COMMIT']);
  });
});
