import { describe, expect, test } from 'vitest';
import { checkFixture, patternsFixture } from './guard-runner.ts';

type Expected = [rule: string, file: string, line: number, column: number];

// fixtures/patterns holds a bad and a good instance of each shape; only the bad ones may be reported.
const expected: Expected[] = [
  // orders and billing are configured with the same database (reported at the first, billing related).
  ['no-shared-database', 'config/default.yaml', 3, 5],
  // OrderLine in billing and orders with different fields (Money is identical: not a drift).
  ['no-domain-type-drift', 'services/billing/src/domain/order-line.ts', 1, 18],
  // orders updates stock_levels, created by stock's migrations (its own orders table is fine).
  ['no-shared-database', 'services/orders/src/data-access/order-repository.ts', 12, 18],
  // Unbounded object cache, process listener per request, dropped per-request timer, dropped interval.
  ['no-leak-prone-code', 'services/orders/src/entry-points/http-routes.ts', 6, 7],
  ['no-leak-prone-code', 'services/orders/src/entry-points/http-routes.ts', 16, 3],
  ['no-leak-prone-code', 'services/orders/src/entry-points/http-routes.ts', 20, 3],
  ['no-leak-prone-code', 'services/orders/src/entry-points/http-routes.ts', 29, 1],
  // No delay; unbounded with a constant delay and no jitter; 429 without Retry-After; POST without
  // idempotency key; axios-retry without retryDelay.
  ['no-retry-storm', 'services/orders/src/entry-points/retries.ts', 9, 3],
  ['no-retry-storm', 'services/orders/src/entry-points/retries.ts', 21, 3],
  ['no-retry-storm', 'services/orders/src/entry-points/retries.ts', 34, 3],
  ['no-retry-storm', 'services/orders/src/entry-points/retries.ts', 44, 3],
  ['no-retry-storm', 'services/orders/src/entry-points/retries.ts', 56, 1],
  // stock's /internal route is not in its proto contract (its RPC route and /healthz are fine;
  // billing's routes are all in its openapi.yaml).
  ['no-gateway-bypass', 'services/orders/src/entry-points/stock-calls.ts', 5, 26],
];

describe('the second-pass rules on fixtures/patterns', () => {
  test('when the fixture is checked, then exactly the bad instances are reported', () => {
    const actual = checkFixture(patternsFixture).findings.map((finding): Expected => [
      finding.rule,
      finding.file,
      finding.line,
      finding.column,
    ]);
    expect(actual).toEqual(expected);
  });

  test('when copies of a domain type drift, then it is a warning naming the diverging fields', () => {
    const drift = checkFixture(patternsFixture).findings.find(
      (finding) => finding.rule === 'no-domain-type-drift',
    );
    expect(drift?.severity).toBe('warning');
    expect(drift?.message).toBe(
      'OrderLine is defined in billing, orders with different fields: priceCents only in billing; unitPriceCents only in orders',
    );
  });

  test('when a retry loop lacks several things, then one finding lists them all', () => {
    const messages = checkFixture(patternsFixture)
      .findings.filter((finding) => finding.rule === 'no-retry-storm')
      .map((finding) => finding.message);
    expect(messages).toEqual([
      'retry loop around billing has no delay between attempts',
      'retry loop around billing has no bound on the attempts, a constant delay (no exponential backoff), no jitter',
      'retry loop around billing has retries on 429/503 without reading Retry-After / RateLimit-Reset',
      'retry loop around billing has retries POST billing without an idempotency key',
      'axios-retry is configured with no delay between attempts (axios-retry waits 0 ms without retryDelay)',
    ]);
  });

  test('when a service calls an undeclared route, then the message names the contract it is missing from', () => {
    const bypass = checkFixture(patternsFixture).findings.find(
      (finding) => finding.rule === 'no-gateway-bypass',
    );
    expect(bypass?.message).toContain(
      "orders calls stock's route /internal/levels/* directly (fetch(`${stockUrl}/internal/levels/${sku}`)); it is not among the 1 routes of stock's contract (services/stock/proto/stock/v1/stock_service.proto)",
    );
  });
});
