import { randomUUID } from 'node:crypto';
import { fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from '@connectrpc/connect';
import { MemoryBus, newEvent, type ServiceRuntime } from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  recordTransactions,
  startTestService,
  testServiceConfig,
} from '@orderly/platform/testing';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory-contract/inventory_events';
import {
  PaymentFailedSchema,
  PaymentSucceededSchema,
} from '@orderly/payment-contract/payment_events';
import { orderConfigSchema, orderService } from '../src/service.js';
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  PaymentRequestedSchema,
} from '@orderly/order-contract/order_events';
import {
  CancellationReason,
  OrderStatus,
  type OrderService,
} from '@orderly/order-contract/order_service';
import { orderClientAs } from './order-clients.js';

/**
 * Saga answers that arrive together are applied as one run (set-based): these tests publish
 * several answers in one `bus.publish`, which the in-memory bus delivers at once, so the
 * subscription's consumer applies them as one batch.
 */
const config = testServiceConfig('order', orderConfigSchema, {
  service: {
    // The saga without the risk step: StockReserved requests the payment at once (risk-step.test.ts
    // covers the step).
    riskAssessment: false,
    sagaTimeoutMs: 600_000,
  },
});
const bus = new MemoryBus();
let runtime: ServiceRuntime;
let client: Client<typeof OrderService>;
let operator: Client<typeof OrderService>;
let sql: ReturnType<typeof recordTransactions>;

beforeAll(async () => {
  let url: string;
  ({ runtime, url } = await startTestService(orderService, { config, bus }));
  client = await orderClientAs('gateway', url);
  operator = await orderClientAs('operator', url);
  sql = recordTransactions(config.service.database);
});

afterEach(() => sql.clear());

afterAll(async () => {
  sql?.stop();
  await runtime?.stop();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
});

async function placed(): Promise<string> {
  const { order } = await client.placeOrder({
    customerId: 'batch-customer',
    idempotencyKey: randomUUID(),
    lines: [{ sku: 'SKU-A', quantity: 2 }],
    paymentMethod: 'pm_card_ok',
  });
  return order!.orderId;
}

const reserved = (orderId: string, unitPriceCents = 250n) =>
  newEvent(StockReservedSchema, {
    orderId,
    reservationId: randomUUID(),
    lines: [{ sku: 'SKU-A', quantity: 2, unitPriceCents }],
    totalCents: 2n * unitPriceCents,
  });
const rejected = (orderId: string) =>
  newEvent(StockRejectedSchema, { orderId, skus: ['SKU-A'], reason: 'OUT_OF_STOCK' });
const paid = (orderId: string) =>
  newEvent(PaymentSucceededSchema, { orderId, paymentId: randomUUID(), amountCents: 500n });
const declined = (orderId: string) => newEvent(PaymentFailedSchema, { orderId, reason: 1 });

/** Publishes the events together; resolves once the service settled every one (acked or dead-lettered). */
const publishTogether = (...events: { bus: Parameters<MemoryBus['publish']>[0][number] }[]) =>
  bus.publish(events.map((e) => e.bus));

/** Events the service wrote to its outbox about an order, in order (committed before the ack). */
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

async function orderOf(orderId: string) {
  const { order } = await operator.getOrderForOperator({ orderId });
  return order!;
}

describe('saga answers applied as a batch', () => {
  test('when two answers for the same order arrive in one batch, then the second sees the first one’s result, as if applied one after the other', async () => {
    // Arrange
    const orderId = await placed();
    const other = await placed();
    const first = reserved(orderId, 250n);
    const second = reserved(orderId, 999n);

    // Act
    await publishTogether(first, reserved(other), second, rejected(orderId));

    // Assert: the first reservation advanced the order; the later reservation and the rejection
    // found it STOCK_RESERVED and were ignored.
    const order = await orderOf(orderId);
    expect(order.status).toBe(OrderStatus.STOCK_RESERVED);
    expect(order.totalCents).toBe(500n);
    expect(order.lines[0]?.unitPriceCents).toBe(250n);
    expect(order.history.map((h) => h.status)).toEqual([
      OrderStatus.PENDING,
      OrderStatus.STOCK_RESERVED,
    ]);
    expect(await outboxEvents(PaymentRequestedSchema, orderId)).toEqual([
      expect.objectContaining({ amountCents: 500n }),
    ]);
    expect(await outboxEvents(OrderCancelledSchema, orderId)).toEqual([]);
    expect((await orderOf(other)).status).toBe(OrderStatus.STOCK_RESERVED);
    // Decided in one transaction that committed, not sorted out by rolling the batch back.
    const applied = sql.of('order.stock-results');
    expect(applied.map((t) => t.outcome)).toEqual(['COMMIT']);
    expect(applied[0]?.statements.join('\n')).toContain(second.message.eventId);
  });

  test('when a payment failure and a payment success for one order arrive in one batch, then the first decides and the second is ignored', async () => {
    // Arrange
    const failing = await placed();
    const succeeding = await placed();
    await publishTogether(reserved(failing), reserved(succeeding));

    // Act
    await publishTogether(declined(failing), paid(failing), paid(succeeding), paid(succeeding));

    // Assert
    const cancelled = await orderOf(failing);
    expect(cancelled.status).toBe(OrderStatus.CANCELLED);
    expect(cancelled.cancellationReason).toBe(CancellationReason.PAYMENT_DECLINED);
    expect(cancelled.history.map((h) => h.status)).toEqual([
      OrderStatus.PENDING,
      OrderStatus.STOCK_RESERVED,
      OrderStatus.CANCELLED,
    ]);
    expect(await outboxEvents(OrderConfirmedSchema, failing)).toEqual([]);
    expect(await outboxEvents(OrderCancelledSchema, failing)).toHaveLength(1);
    const confirmed = await orderOf(succeeding);
    expect(confirmed.history.map((h) => h.status)).toEqual([
      OrderStatus.PENDING,
      OrderStatus.STOCK_RESERVED,
      OrderStatus.CONFIRMED,
    ]);
    expect(await outboxEvents(OrderConfirmedSchema, succeeding)).toHaveLength(1);
    expect(sql.of('order.payment-results').map((t) => t.outcome)).toEqual(['COMMIT']);
  });

  test('when one answer of a batch names an unknown order, then it alone is dead-lettered and the others advance', async () => {
    // Arrange
    const a = await placed();
    const b = await placed();
    const c = await placed();
    const unknown = reserved(randomUUID());
    const malformed = reserved('not-an-order-id');

    // Act: a UUID in capitals names the same order.
    await publishTogether(reserved(a), unknown, malformed, reserved(b), reserved(c.toUpperCase()));

    // Assert
    for (const orderId of [a, b, c]) {
      expect((await orderOf(orderId)).status).toBe(OrderStatus.STOCK_RESERVED);
      expect(await outboxEvents(PaymentRequestedSchema, orderId)).toHaveLength(1);
    }
    const deadLetters = await bus.listDeadLetters();
    for (const poison of [unknown, malformed]) {
      expect(deadLetters).toContainEqual(
        expect.objectContaining({
          eventId: poison.message.eventId,
          subscription: 'order.stock-results',
          error: expect.stringContaining('unknown order') as string,
        }),
      );
    }
  });

  test('when many answers arrive together, then they cost a fixed handful of statements, not a group per answer', async () => {
    // Arrange
    const count = 20;
    const orderIds = await Promise.all(Array.from({ length: count }, () => placed()));

    // Act
    await publishTogether(...orderIds.map((orderId) => reserved(orderId)));
    await publishTogether(...orderIds.map((orderId) => paid(orderId)));

    // Assert
    for (const orderId of orderIds) {
      expect(await outboxEvents(OrderConfirmedSchema, orderId)).toHaveLength(1);
    }
    // BEGIN with the inbox rows, lock and load the orders, store the changes, write the events,
    // COMMIT: applied one answer at a time it was four statements per answer plus BEGIN and COMMIT.
    for (const subscription of ['order.stock-results', 'order.payment-results']) {
      const applied = sql.of(subscription);
      expect(applied.map((t) => t.outcome)).toEqual(['COMMIT']);
      expect(applied[0]?.statements).toHaveLength(5);
    }
    expect(sql.overlapping()).toBe(0);
  });

  test('when an answer had to wait for another transaction that advanced the same order, then it decides on that result', async () => {
    // Arrange: the test holds the order's lock; StockReserved queues for it, then PaymentSucceeded
    // (another subscription) queues behind StockReserved.
    const orderId = await placed();
    const waiting = async (count: number) =>
      eventually(async () => {
        const { rows } = await runtime.db.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        expect(rows[0]?.waiting).toBe(count);
      });
    let reservation: Promise<void> | undefined;
    let payment: Promise<void> | undefined;

    // Act
    await runtime.db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM orders WHERE id = $1 FOR UPDATE', [orderId]);
      reservation = publishTogether(reserved(orderId));
      await waiting(1);
      payment = publishTogether(paid(orderId));
      await waiting(2);
    });
    await Promise.all([reservation, payment]);

    // Assert: PaymentSucceeded read the order as StockReserved's transaction left it (lines and
    // history too) and was applied at its first attempt.
    const order = await orderOf(orderId);
    expect(order.status).toBe(OrderStatus.CONFIRMED);
    expect(order.lines[0]?.unitPriceCents).toBe(250n);
    expect(order.history.map((h) => h.status)).toEqual([
      OrderStatus.PENDING,
      OrderStatus.STOCK_RESERVED,
      OrderStatus.CONFIRMED,
    ]);
    expect(await outboxEvents(OrderConfirmedSchema, orderId)).toEqual([
      expect.objectContaining({ totalCents: 500n }),
    ]);
    expect(sql.of('order.payment-results').map((t) => t.outcome)).toEqual(['COMMIT']);
  });

  test('when batches on both subscriptions answer for the same orders and wait for each other, then neither deadlocks', async () => {
    // Arrange: the late reservations come in the opposite order; the test holds the middle
    // order's lock, so each run stops there holding what it took, until the test lets go.
    const orderIds = await Promise.all(Array.from({ length: 20 }, () => placed()));
    await publishTogether(...orderIds.map((orderId) => reserved(orderId)));
    sql.clear();
    const waiting = (count: number) =>
      eventually(async () => {
        const { rows } = await runtime.db.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        expect(rows[0]?.waiting).toBe(count);
      });
    let published: Promise<unknown> | undefined;

    // Act
    await runtime.db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM orders WHERE id = $1 FOR UPDATE', [orderIds[10]]);
      published = Promise.all([
        publishTogether(...orderIds.map((orderId) => paid(orderId))),
        publishTogether(...orderIds.map((orderId) => reserved(orderId)).reverse()),
      ]);
      await waiting(2);
    });
    await published;

    // Assert
    for (const orderId of orderIds) {
      expect((await orderOf(orderId)).status).toBe(OrderStatus.CONFIRMED);
      expect(await outboxEvents(PaymentRequestedSchema, orderId)).toHaveLength(1);
      expect(await outboxEvents(OrderConfirmedSchema, orderId)).toHaveLength(1);
    }
    // Rows locked in one order: neither run was chosen as a deadlock victim and rolled back.
    const applied = [...sql.of('order.payment-results'), ...sql.of('order.stock-results')];
    expect(applied.map((t) => t.outcome)).toEqual(['COMMIT', 'COMMIT']);
  });
});
