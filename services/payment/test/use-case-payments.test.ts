import { describe, expect, test } from 'vitest';
import { findAppError } from '@orderly/platform';
import type { Payment } from '../src/domain/payment.js';
import { paymentProviderUnavailable } from '../src/domain/payment-errors.js';
import type {
  ProviderChargeRequest,
  ProviderChargeResult,
  ProviderRefundRequest,
  ProviderSession,
} from '../src/domain/payment-provider.js';
import type { PaymentStore } from '../src/domain/payment-store.js';
import { callEach } from '../src/domain/provider-calls.js';
import { chargePayment, type PaymentRequest } from '../src/use-cases/charge-payment.js';
import { refundPayment } from '../src/use-cases/refund-payment.js';

const now = new Date('2030-01-01T00:00:00Z');

/** Payment records in memory, and what each store call was asked (in call order). */
function inMemoryPaymentStore(existing: readonly Payment[] = []) {
  const payments = new Map(existing.map((payment) => [payment.orderId, payment]));
  const calls: string[] = [];
  const store: PaymentStore = {
    lockOrders: (orderIds) => {
      calls.push(`lock ${orderIds.join(',')}`);
      return Promise.resolve();
    },
    findPayments: (orderIds) => {
      calls.push(`find ${orderIds.join(',')}`);
      return Promise.resolve(
        new Map(orderIds.flatMap((id) => (payments.has(id) ? [[id, payments.get(id)!]] : []))),
      );
    },
    insertPayments: (inserted) => {
      calls.push(`insert ${inserted.map((p) => `${p.orderId}:${p.status}`).join(',')}`);
      for (const payment of inserted) payments.set(payment.orderId, payment);
      return Promise.resolve();
    },
    recordCancellations: ({ refunded, voided }) => {
      calls.push(
        `record refunded=${refunded.join(',')} voided=${voided.map((p) => p.orderId).join(',')}`,
      );
      return Promise.resolve();
    },
  };
  return { store, payments, calls };
}

function fakeProvider(answers: {
  charge?: (request: ProviderChargeRequest) => Promise<ProviderChargeResult>;
  refund?: (request: ProviderRefundRequest) => Promise<void>;
}) {
  const charged: string[] = [];
  const refunded: string[] = [];
  const provider: ProviderSession = {
    charge: (request) => {
      charged.push(request.orderId);
      return (
        answers.charge ??
        (() =>
          Promise.resolve({ outcome: 'captured', providerRef: `ref-${request.orderId}` } as const))
      )(request);
    },
    refund: (request) => {
      refunded.push(request.idempotencyKey);
      return (answers.refund ?? (() => Promise.resolve()))(request);
    },
  };
  return { provider, charged, refunded };
}

const aRequest = (orderId: string, overrides: Partial<PaymentRequest> = {}): PaymentRequest => ({
  orderId,
  customerId: 'customer-1',
  amountCents: 4599n,
  paymentMethod: 'pm_card_ok',
  ...overrides,
});

const captured = (orderId: string): Payment => ({
  orderId,
  paymentId: `payment-${orderId}`,
  status: 'CAPTURED',
  amountCents: 4599n,
  providerRef: `ref-${orderId}`,
});

const settleLater = () => {
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  return { settled, settle };
};

describe('callEach', () => {
  test('when the calls are slow, then at most `concurrency` run at once and the results come back in item order', async () => {
    // Arrange
    let running = 0;
    let most = 0;
    const call = async (item: number) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5 - item));
      running--;
      return item * 10;
    };

    // Act
    const results = await callEach([1, 2, 3, 4, 5], call, 2);

    // Assert
    expect(results).toEqual([10, 20, 30, 40, 50]);
    expect(most).toBe(2);
  });

  test('when a call fails, then no new call starts and the failure is thrown only once the calls already started have finished', async () => {
    // Arrange
    const slow = settleLater();
    const started: number[] = [];
    const finished: number[] = [];
    const call = async (item: number) => {
      started.push(item);
      if (item === 1) await slow.settled;
      if (item === 2) throw new Error('refused');
      finished.push(item);
      return item;
    };

    // Act
    let thrown = false;
    const result = callEach([1, 2, 3, 4], call, 2).catch((error: unknown) => {
      thrown = true;
      return error;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const thrownWhileACallRan = thrown;
    slow.settle();

    // Assert
    expect(await result).toMatchObject({ message: 'refused' });
    expect(thrownWhileACallRan).toBe(false);
    expect(started).toEqual([1, 2]);
    expect(finished).toEqual([1]);
  });
});

describe('chargePayment', () => {
  test('when the provider cannot be reached, then the payment is recorded DECLINED so the order is answered, and a later request of the run finds it', async () => {
    // Arrange
    const { store, calls } = inMemoryPaymentStore();
    const { provider, charged } = fakeProvider({
      charge: () => Promise.resolve({ outcome: 'unavailable', reason: 'PROVIDER_OUTAGE' }),
    });

    // Act
    const outcomes = await chargePayment(
      store,
      provider,
      [aRequest('order-1'), aRequest('order-1', { amountCents: 1n })],
      now,
      4,
    );

    // Assert
    expect(charged).toEqual(['order-1']);
    expect(outcomes).toEqual([
      {
        kind: 'charged',
        payment: expect.objectContaining({
          orderId: 'order-1',
          status: 'DECLINED',
          providerRef: null,
        }) as unknown,
        result: { outcome: 'unavailable', reason: 'PROVIDER_OUTAGE' },
      },
      { kind: 'already-answered', orderId: 'order-1', status: 'DECLINED' },
    ]);
    expect(calls).toEqual([
      'lock order-1,order-1',
      'find order-1,order-1',
      'insert order-1:DECLINED',
    ]);
  });

  test('when a request of the run can never be charged, then it is refused permanently before anything is locked or charged', async () => {
    // Arrange
    const { store, calls } = inMemoryPaymentStore();
    const { provider, charged } = fakeProvider({});

    // Act
    const error = await chargePayment(
      store,
      provider,
      [aRequest('order-1'), aRequest('order-2', { amountCents: 0n })],
      now,
      4,
    ).catch((caught: unknown) => caught);

    // Assert
    expect(findAppError(error)).toMatchObject({ code: 'PAYMENT_REQUEST_INVALID', permanent: true });
    expect(calls).toEqual([]);
    expect(charged).toEqual([]);
  });
});

describe('refundPayment', () => {
  test('when the provider cannot be reached for one refund of the run, then its error is thrown as it is (waited out, never dead-lettered) and nothing of the run is recorded', async () => {
    // Arrange
    const { store, calls } = inMemoryPaymentStore([captured('order-1'), captured('order-2')]);
    const outage = paymentProviderUnavailable('the refund');
    const { provider, refunded } = fakeProvider({
      refund: (request) =>
        request.providerRef === 'ref-order-2' ? Promise.reject(outage) : Promise.resolve(),
    });

    // Act
    const error = await refundPayment(
      store,
      provider,
      ['order-1', 'order-2', 'order-3'],
      now,
      1,
    ).catch((caught: unknown) => caught);

    // Assert
    expect(error).toBe(outage);
    expect(findAppError(error)).toMatchObject({ kind: 'unavailable' });
    expect(findAppError(error)?.permanent).not.toBe(true);
    expect(refunded).toEqual(['order-1:refund', 'order-2:refund']);
    expect(calls).toEqual(['lock order-1,order-2,order-3', 'find order-1,order-2,order-3']);
  });

  test('when the refunds succeed, then captures are refunded, orders never charged are voided, and both are recorded with one call', async () => {
    // Arrange
    const { store, calls } = inMemoryPaymentStore([captured('order-1')]);
    const { provider, refunded } = fakeProvider({});

    // Act
    const compensations = await refundPayment(
      store,
      provider,
      ['order-1', 'order-2', 'order-1'],
      now,
      4,
    );

    // Assert
    expect(compensations).toEqual([
      {
        kind: 'refund',
        orderId: 'order-1',
        paymentId: 'payment-order-1',
        providerRef: 'ref-order-1',
        amountCents: 4599n,
      },
      {
        kind: 'void',
        payment: expect.objectContaining({
          orderId: 'order-2',
          status: 'VOIDED',
          amountCents: 0n,
        }) as unknown,
      },
      { kind: 'nothing', orderId: 'order-1', status: 'REFUNDED' },
    ]);
    expect(refunded).toEqual(['order-1:refund']);
    expect(calls.at(-1)).toBe('record refunded=order-1 voided=order-2');
  });
});
