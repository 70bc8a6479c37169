import { AppError } from '@orderly/platform';

/** Every error the risk service raises, with its stable code. */

export const reviewNotFound = (orderId: string) =>
  new AppError('RISK_REVIEW_NOT_FOUND', `no order ${orderId} is or was held for review`, {
    kind: 'not-found',
    details: { orderId },
  });

export const reviewAlreadyDecided = (orderId: string, status: string) =>
  new AppError(
    'RISK_REVIEW_ALREADY_DECIDED',
    `the review of order ${orderId} was already decided (${status})`,
    { kind: 'conflict', details: { orderId, status } },
  );

export const invalidReviewDecision = (problem: string) =>
  new AppError('RISK_INVALID_REVIEW_DECISION', `invalid review decision: ${problem}`, {
    kind: 'invalid',
    details: { problem },
  });
