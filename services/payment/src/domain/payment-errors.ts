import { AppError } from '@orderly/platform';

/** Every error code the payment service raises. */

/** A PaymentRequested that can never be charged (no order id, no positive amount): dead-lettered at once. */
export const paymentRequestInvalid = (orderId: string, problem: string) =>
  new AppError(
    'PAYMENT_REQUEST_INVALID',
    `payment request for order '${orderId}' is invalid: ${problem}`,
    {
      kind: 'invalid',
      permanent: true,
    },
  );

/** An OrderCancelled without an order id: dead-lettered at once. */
export const paymentCancellationInvalid = (problem: string) =>
  new AppError('PAYMENT_CANCELLATION_INVALID', `order cancellation is invalid: ${problem}`, {
    kind: 'invalid',
    permanent: true,
  });

/** A refund for a capture the provider does not know: the records disagree, an operator must look. */
export const paymentCaptureNotFound = (providerRef: string) =>
  new AppError(
    'PAYMENT_CAPTURE_NOT_FOUND',
    `the provider has no capture '${providerRef}' to refund`,
    {
      kind: 'internal',
      permanent: true,
    },
  );

/** A refund larger than its capture. */
export const paymentRefundExceedsCapture = (providerRef: string) =>
  new AppError('PAYMENT_REFUND_EXCEEDS_CAPTURE', `refund is larger than capture '${providerRef}'`, {
    kind: 'internal',
    permanent: true,
  });

/** The provider cannot be reached (e.g. the `payment-provider-outage` flag): a refund is retried later. */
export const paymentProviderUnavailable = (operation: string) =>
  new AppError(
    'PAYMENT_PROVIDER_UNAVAILABLE',
    `the payment provider is unavailable, ${operation} will be retried`,
    {
      kind: 'unavailable',
    },
  );
