import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  callEveryMethod,
  startTestService,
  testCaller,
  type TestService,
} from '@orderly/platform/testing';
import { RiskService } from '@orderly/risk-contract/risk_service';
import { riskService, type RiskConfig } from '../src/service.js';

/** The review queue decides orders: only the gateway (admin routes) and the operator may call it. */
let risk: TestService<RiskConfig>;

beforeAll(async () => {
  risk = await startTestService(riskService);
});

afterAll(async () => {
  await risk?.stop();
});

const everyMethod = RiskService.methods.map((m) => m.name);

test('when any risk RPC is called without a service token, then it is UNAUTHENTICATED with CALLER_UNAUTHENTICATED', async () => {
  const outcomes = await callEveryMethod(RiskService, risk.url);
  for (const method of everyMethod)
    expect(outcomes[method], method).toEqual({
      code: 'unauthenticated',
      errorCode: 'CALLER_UNAUTHENTICATED',
    });
});

test('when any risk RPC is called by a service on no allowlist (order), then it is PERMISSION_DENIED with CALLER_NOT_ALLOWED', async () => {
  const outcomes = await callEveryMethod(RiskService, risk.url, await testCaller('order', 'risk'));
  for (const method of everyMethod)
    expect(outcomes[method], method).toEqual({
      code: 'permission_denied',
      errorCode: 'CALLER_NOT_ALLOWED',
    });
});

test('when the gateway calls, then it gets past the caller check of every risk RPC', async () => {
  const outcomes = await callEveryMethod(
    RiskService,
    risk.url,
    await testCaller('gateway', 'risk'),
  );
  // An empty request: ListReviews answers, DecideReview refuses the missing decision itself.
  expect(outcomes).toEqual({
    ListReviews: { code: 'ok' },
    DecideReview: { code: 'invalid_argument', errorCode: 'RISK_INVALID_REVIEW_DECISION' },
  });
});
