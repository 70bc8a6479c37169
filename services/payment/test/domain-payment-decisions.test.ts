import { describe, expect, test } from 'vitest';
import { findAppError } from '@orderly/platform';
import type { Payment, PaymentStatus } from '../src/domain/payment.js';
import {
  assertChargeable,
  chargesOfRun,
  decideCharge,
  decideOnCancellation,
} from '../src/domain/payment-decisions.js';

const aPayment = (status: PaymentStatus, overrides: Partial<Payment> = {}): Payment => ({
  orderId: 'order-1',
  paymentId: 'payment-1',
  status,
  amountCents: status === 'VOIDED' ? 0n : 1250n,
  providerRef: status === 'CAPTURED' || status === 'REFUNDED' ? 'sim_ch_1' : null,
  ...overrides,
});

describe('decideCharge', () => {
  test('when the order has no payment yet, then it is charged', () => {
    expect(decideCharge(undefined)).toEqual({ action: 'charge' });
  });

  test.each(['CAPTURED', 'DECLINED', 'REFUNDED'] as const)(
    'when the payment is %s, then the request was already answered and nothing happens',
    (status) => {
      expect(decideCharge(aPayment(status))).toEqual({ action: 'already-answered', status });
    },
  );

  test('when the payment was voided by a cancellation, then the request is refused without a charge', () => {
    expect(decideCharge(aPayment('VOIDED'))).toEqual({
      action: 'refuse',
      reason: 'ORDER_ALREADY_CANCELLED',
    });
  });
});

describe('chargesOfRun', () => {
  test('when a run names an order twice, then only its first request is charged', () => {
    const requests = [
      { orderId: 'order-1', amountCents: 100n },
      { orderId: 'order-2', amountCents: 200n },
      { orderId: 'order-1', amountCents: 999n },
    ];
    expect(chargesOfRun(new Map(), requests)).toEqual([requests[0], requests[1]]);
  });

  test('when an order already has a payment record, then none of its requests is charged', () => {
    const existing = new Map([
      ['order-1', aPayment('DECLINED')],
      ['order-2', aPayment('VOIDED', { orderId: 'order-2' })],
    ]);
    const requests = [{ orderId: 'order-1' }, { orderId: 'order-2' }, { orderId: 'order-3' }];
    expect(chargesOfRun(existing, requests)).toEqual([{ orderId: 'order-3' }]);
  });
});

describe('decideOnCancellation', () => {
  test('when the payment was captured, then its capture is refunded in full', () => {
    expect(decideOnCancellation(aPayment('CAPTURED'))).toEqual({
      action: 'refund',
      providerRef: 'sim_ch_1',
      amountCents: 1250n,
    });
  });

  test('when there is no payment yet, then a void is recorded', () => {
    expect(decideOnCancellation(undefined)).toEqual({ action: 'void' });
  });

  test.each(['DECLINED', 'REFUNDED', 'VOIDED'] as const)(
    'when the payment is %s, then nothing is done',
    (status) => {
      expect(decideOnCancellation(aPayment(status))).toEqual({ action: 'nothing', status });
    },
  );
});

describe('assertChargeable', () => {
  test('when the amount is positive and the order id present, then the request is accepted', () => {
    expect(() =>
      assertChargeable({ orderId: 'order-1', amountCents: 1n, paymentMethod: 'pm_card_ok' }),
    ).not.toThrow();
  });

  test.each([
    ['an empty order id', { orderId: '', amountCents: 100n }],
    ['a zero amount', { orderId: 'order-1', amountCents: 0n }],
    ['a negative amount', { orderId: 'order-1', amountCents: -5n }],
  ])('when the request has %s, then it is refused permanently', (_, request) => {
    let error: unknown;
    try {
      assertChargeable({ ...request, paymentMethod: 'pm_card_ok' });
    } catch (caught) {
      error = caught;
    }
    expect(findAppError(error)).toMatchObject({ code: 'PAYMENT_REQUEST_INVALID', permanent: true });
  });
});
