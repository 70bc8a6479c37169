import { describe, expect, test } from 'vitest';
import { checkRepository } from '../src/guard-check.ts';
import { badFixture, checkFixture, goodFixture } from './guard-runner.ts';

type Expected = [rule: string, file: string, line: number, column: number];

// Every anti-pattern planted in fixtures/bad, in report order (file, line, column).
const expectedBadFindings: Expected[] = [
  // Lockfile holds zod 4.1.12 and 3.25.76.
  ['no-dependency-hijack', 'package-lock.json', 18, 5],
  // file: dependency, github: dependency, overrides.zod, resolutions.pg (overrides.semver is an exception with a reason).
  ['no-dependency-hijack', 'package.json', 12, 31],
  ['no-dependency-hijack', 'package.json', 13, 17],
  ['no-dependency-hijack', 'package.json', 17, 5],
  ['no-dependency-hijack', 'package.json', 21, 5],
  // The shared business package itself, reported once at its manifest.
  ['no-shared-domain', 'packages/domain-models/package.json', 2, 3],
  // Business type in the allowed platform package; platform re-exporting a service.
  ['no-shared-domain', 'platform/src/index.ts', 10, 18],
  ['no-shared-domain', 'platform/src/index.ts', 14, 33],
  // Service a imports the shared business package.
  ['no-shared-domain', 'services/a/src/app.ts', 2, 31],
  // Connection string, pool max, idle timeout.
  ['no-hardcoded-config', 'services/a/src/data-access/order-repository.ts', 6, 21],
  ['no-hardcoded-config', 'services/a/src/data-access/order-repository.ts', 7, 8],
  ['no-hardcoded-config', 'services/a/src/data-access/order-repository.ts', 8, 22],
  // Remote call between BEGIN and COMMIT.
  ['no-sync-call-chain', 'services/a/src/data-access/order-repository.ts', 17, 9],
  // Domain imports pg and @connectrpc/connect.
  ['layering', 'services/a/src/domain/place-order.ts', 1, 22],
  ['layering', 'services/a/src/domain/place-order.ts', 2, 30],
  // tsconfig paths alias into b's source.
  ['no-shared-domain', 'services/a/src/domain/place-order.ts', 4, 33],
  // Domain imports data-access and entry-points.
  ['layering', 'services/a/src/domain/place-order.ts', 5, 27],
  ['layering', 'services/a/src/domain/place-order.ts', 6, 32],
  // Inside db.transaction: a helper that calls c, and a direct call to b.
  ['no-sync-call-chain', 'services/a/src/domain/place-order.ts', 15, 11],
  ['no-sync-call-chain', 'services/a/src/domain/place-order.ts', 16, 11],
  // export * from another service's domain.
  ['no-shared-domain', 'services/a/src/domain/shared-order.ts', 2, 15],
  ['no-gateway-bypass', 'services/a/src/entry-points/fulfilment-helpers.ts', 9, 9],
  ['no-hardcoded-config', 'services/a/src/entry-points/fulfilment-helpers.ts', 9, 15],
  // Package-name import of b's source.
  ['no-shared-domain', 'services/a/src/entry-points/order-rpc.ts', 3, 25],
  // placeOrder reaches b and c through a helper in another file; cancelOrder through a renamed
  // client factory and a local helper; an event handler calls both directly.
  ['no-sync-call-chain', 'services/a/src/entry-points/order-rpc.ts', 17, 11],
  ['no-sync-call-chain', 'services/a/src/entry-points/order-rpc.ts', 22, 11],
  // c has no contract: its HTTP routes are internal.
  ['no-gateway-bypass', 'services/a/src/entry-points/order-rpc.ts', 24, 15],
  ['no-sync-call-chain', 'services/a/src/entry-points/thing-events-consumer.ts', 15, 39],
  ['no-scattered-telemetry', 'services/a/src/main.ts', 1, 18],
  // const REQUEST_TIMEOUT_MS = 2_000 (reported once, at its declaration).
  ['no-hardcoded-config', 'services/a/src/main.ts', 6, 28],
  ['no-scattered-telemetry', 'services/a/src/main.ts', 11, 3],
  // setTimeout(f, t) where const t = 5 * 1000.
  ['no-hardcoded-config', 'services/a/src/main.ts', 12, 47],
  // setInterval's handle is dropped.
  ['no-leak-prone-code', 'services/a/src/main.ts', 13, 3],
  ['no-hardcoded-config', 'services/a/src/main.ts', 13, 42],
  // sleep = setTimeout from node:timers/promises (delay is its first argument).
  ['no-hardcoded-config', 'services/a/src/main.ts', 15, 15],
  ['no-hardcoded-config', 'services/a/src/main.ts', 18, 17],
  // host, port, apiKey, retries, `?? 7_500` fallback, IP, URL.
  ['no-hardcoded-config', 'services/a/src/main.ts', 20, 11],
  ['no-hardcoded-config', 'services/a/src/main.ts', 21, 11],
  ['no-hardcoded-config', 'services/a/src/main.ts', 22, 13],
  ['no-hardcoded-config', 'services/a/src/main.ts', 23, 14],
  ['no-hardcoded-config', 'services/a/src/main.ts', 25, 78],
  ['no-hardcoded-config', 'services/a/src/main.ts', 26, 17],
  ['no-hardcoded-config', 'services/a/src/main.ts', 27, 18],
  // git+https dependency in a service manifest.
  ['no-dependency-hijack', 'services/b/package.json', 11, 11],
  ['no-shared-domain', 'services/b/src/domain/pricing.ts', 1, 31],
  ['no-scattered-telemetry', 'services/b/src/domain/pricing.ts', 2, 25],
  ['no-scattered-telemetry', 'services/b/src/entry-points/thing-rpc.ts', 1, 20],
];

describe('orderly-guard check on the fixtures', () => {
  test('when the bad fixture is checked, then exactly the planted anti-patterns are reported', () => {
    const result = checkFixture(badFixture);
    const actual = result.findings.map((finding): Expected => [
      finding.rule,
      finding.file,
      finding.line,
      finding.column,
    ]);
    expect(actual).toEqual(expectedBadFindings);
    expect(result.failed).toBe(true);
  });

  test('when the bad fixture is checked, then every first-pass rule fires at least once (the second-pass rules have fixtures/patterns)', () => {
    const rules = new Set(checkFixture(badFixture).findings.map((finding) => finding.rule));
    expect([...rules].sort()).toEqual([
      'layering',
      'no-dependency-hijack',
      'no-gateway-bypass',
      'no-hardcoded-config',
      'no-leak-prone-code',
      'no-scattered-telemetry',
      'no-shared-domain',
      'no-sync-call-chain',
    ]);
  });

  test('when the good fixture is checked, then nothing is reported', () => {
    const result = checkFixture(goodFixture);
    expect(result.findings).toEqual([]);
    expect(result.failed).toBe(false);
  });

  test('when a handler chains calls through helpers, then the message names the path to each service', () => {
    const finding = checkFixture(badFixture).findings.find(
      (candidate) => candidate.file.endsWith('order-rpc.ts') && candidate.line === 17,
    );
    expect(finding?.message).toContain(
      'b: reserveEverything() services/a/src/entry-points/order-rpc.ts:18 → deps.stock.reserve() services/a/src/entry-points/fulfilment-helpers.ts:4',
    );
    expect(finding?.message).toContain(
      'c: reserveEverything() services/a/src/entry-points/order-rpc.ts:18 → chargeCard() services/a/src/entry-points/fulfilment-helpers.ts:5 → fetch(`http://c:8080/charge/${sku}`) services/a/src/entry-points/fulfilment-helpers.ts:9',
    );
  });

  test('when a timeout is computed from literals, then the finding points at its use and names the literal', () => {
    const finding = checkRepository(badFixture, { only: ['no-hardcoded-config'] }).findings.find(
      (candidate) => candidate.file === 'services/a/src/main.ts' && candidate.line === 12,
    );
    expect(finding?.message).toBe(
      'setTimeout() gets a hardcoded duration t (computed from literal 5 * 1000 on line 7)',
    );
  });

  test('when a connection string holds a password, then the report does not repeat it', () => {
    const messages = checkRepository(badFixture, { only: ['no-hardcoded-config'] }).findings.map(
      (finding) => finding.message,
    );
    expect(messages.join('\n')).not.toContain('s3cret');
  });

  test('when a service imports a shared business package, then the import links to the package', () => {
    const finding = checkRepository(badFixture, { only: ['no-shared-domain'] }).findings.find(
      (candidate) => candidate.file === 'packages/domain-models/package.json',
    );
    expect(finding?.message).toContain(
      'holds business types (Order, Customer) and is imported by a, b',
    );
    expect(finding?.related?.[0]).toMatchObject({ file: 'services/a/src/app.ts', line: 2 });
  });
});
