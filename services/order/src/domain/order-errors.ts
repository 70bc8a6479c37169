import { AppError } from '@orderly/platform';

/** Every error the order service answers with, by stable code. */
export const orderNotFound = (orderId: string) =>
  new AppError('ORDER_NOT_FOUND', `order ${orderId} does not exist`, { kind: 'not-found' });

export const idempotencyKeyReused = (key: string) =>
  new AppError(
    'ORDER_IDEMPOTENCY_KEY_REUSED',
    `idempotency key ${key} was already used for a different order request`,
    { kind: 'conflict' },
  );

export const invalidOrder = (message: string, field: string) =>
  new AppError('ORDER_INVALID', message, { kind: 'invalid', details: { field } });

/** A customer-facing read without the customer: never "every customer" (operators use GetOrderForOperator). */
export const customerIdRequired = () =>
  new AppError('CUSTOMER_ID_REQUIRED', 'customer id is required', {
    kind: 'invalid',
    details: { field: 'customerId' },
  });

/** The customer asked to cancel an order that can no longer be cancelled. */
export const orderNotCancellable = (orderId: string, why: string) =>
  new AppError('ORDER_NOT_CANCELLABLE', `order ${orderId} cannot be cancelled: ${why}`, {
    kind: 'conflict',
  });

/** A cancel request without the key that makes its retries safe. */
export const cancelKeyRequired = () =>
  new AppError('ORDER_INVALID', 'idempotency key is required', {
    kind: 'invalid',
    details: { field: 'idempotencyKey' },
  });

/** A page cursor that this list did not give out (or that was altered). */
export const cursorInvalid = () =>
  new AppError('CURSOR_INVALID', 'the cursor is not one this list gave out', {
    kind: 'invalid',
    details: { field: 'cursor' },
  });

export const illegalTransition = (orderId: string, from: string, to: string) =>
  new AppError('ORDER_ILLEGAL_TRANSITION', `order ${orderId} cannot go from ${from} to ${to}`, {
    kind: 'conflict',
  });

/** An event names an order this service never accepted: retrying cannot help. */
export const eventForUnknownOrder = (orderId: string, eventType: string) =>
  new AppError('ORDER_EVENT_FOR_UNKNOWN_ORDER', `${eventType} refers to unknown order ${orderId}`, {
    kind: 'not-found',
    permanent: true,
  });

/** RiskAssessed with a decision this version does not know: retrying cannot help. */
export const unknownRiskDecision = (orderId: string, decision: number) =>
  new AppError(
    'ORDER_UNKNOWN_RISK_DECISION',
    `RiskAssessed for order ${orderId} has a decision this service does not know (${decision})`,
    { kind: 'invalid', permanent: true },
  );

/** Backpressure: too many sagas are open, or open too long; the caller retries later with the same key. */
export const intakeSaturated = (backlog: { open: number; oldestAgeMs: number }) =>
  new AppError(
    'ORDER_INTAKE_SATURATED',
    `${backlog.open} orders are still being fulfilled (the oldest for ${Math.round(backlog.oldestAgeMs)} ms); retry shortly with the same idempotency key`,
    { kind: 'unavailable', details: backlog, shedding: true },
  );
