import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkInvariants } from './invariants.js';
import { createCatalogAsAdmin, placeOrderMix, plenty } from './order-mix.js';
import { customerToken, DistributedSystem, services } from './system-harness.js';

/**
 * The log schema (platform/src/log/log-line.schema.json) against a real run: every service as its
 * own process at log level `debug` (every line the code can write on this path), orders of every
 * outcome, refused requests, a key rotation and a graceful stop. Every stdout line of every process
 * must match the schema. (Every other end-to-end run checks its lines too, in the harness's cleanup;
 * those run at `warn`.)
 */
let system: DistributedSystem;
let stockAtStart: Record<string, number>;

beforeAll(async () => {
  system = await DistributedSystem.start({ ORDERLY_LOG_LEVEL: 'debug' });
  stockAtStart = await createCatalogAsAdmin(system.url('gateway'));
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await system?.cleanup();
});

describe('log lines of a run', () => {
  test('when orders of every outcome and refused requests run through every service at debug level, then every line on stdout matches the log schema', async () => {
    // Arrange
    const gateway = system.url('gateway');
    const token = await customerToken(gateway, 'log-schema');

    // Act
    const { accepted } = await placeOrderMix(gateway, 40, 8);
    const refused = await Promise.all([
      fetch(`${gateway}/v1/orders`).then((r) => r.status),
      fetch(`${gateway}/v1/no-such-route`).then((r) => r.status),
      fetch(`${gateway}/v1/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': 'log-schema-bad-body',
        },
        body: JSON.stringify({ lines: [{ sku: plenty.sku, quantity: -1 }] }),
      }).then((r) => r.status),
    ]);
    await checkInvariants(system, accepted, stockAtStart);
    const codes = await system.stop();
    await system.output.settled();

    // Assert
    expect(refused).toEqual([401, 404, 400]);
    expect(Object.values(codes)).toEqual(services.map(() => 0));
    const { logLines } = system.output;
    expect(logLines.problems, logLines.report()).toEqual([]);
    const perService = new Map<string, number>();
    for (const [source, count] of logLines.counts) {
      const service = source.split(' ')[0]!;
      perService.set(service, (perService.get(service) ?? 0) + count);
    }
    expect([...perService.keys()].sort()).toEqual([...services].sort());
    const total = [...perService.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(accepted.length * 5);
    process.stdout.write(
      `log schema e2e: ${total} lines checked (${[...perService].map(([s, n]) => `${s} ${n}`).join(', ')})\n`,
    );
  });
});
