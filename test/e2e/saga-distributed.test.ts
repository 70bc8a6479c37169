import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkInvariants } from './invariants.js';
import { createCatalogAsAdmin, placeOrderMix } from './order-mix.js';
import { DistributedSystem } from './system-harness.js';

/** Six services as separate processes on the machine's PostgreSQL and NATS JetStream. */
let system: DistributedSystem;
let stockAtStart: Record<string, number>;

beforeAll(async () => {
  system = await DistributedSystem.start();
  stockAtStart = await createCatalogAsAdmin(system.url('gateway'));
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await system?.cleanup();
});

/** Orders not yet CONFIRMED or CANCELLED (earlier tests leave none open: their invariants held). */
async function openSagas(): Promise<number> {
  const [row] = await system.sql<{ n: string }>(
    'order',
    "SELECT count(*)::text AS n FROM orders WHERE status IN ('PENDING', 'STOCK_RESERVED')",
  );
  return Number(row?.n ?? 0);
}

/**
 * kill -9 of `services` as soon as (at most 5 s) some sagas are open; returns how many were open
 * just before the kill.
 */
async function killWhileSagasOpen(
  services: readonly Parameters<DistributedSystem['crash']>[0][],
): Promise<number> {
  const deadline = Date.now() + 5000;
  let open = await openSagas();
  while (open === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    open = await openSagas();
  }
  await Promise.all(services.map((s) => system.crash(s)));
  return open;
}

describe('the order saga across processes', () => {
  test('when a few hundred orders arrive at once, then every one ends CONFIRMED or CANCELLED and every invariant holds', async () => {
    const { accepted, rejected } = await placeOrderMix(system.url('gateway'), 300, 40);
    expect(rejected, system.output.tail()).toEqual([]);
    const outcome = await checkInvariants(system, accepted, stockAtStart);
    expect(outcome.confirmed).toBeGreaterThan(0);
    expect(outcome.cancelled.PAYMENT_DECLINED).toBeGreaterThan(0);
    expect(outcome.cancelled.OUT_OF_STOCK).toBeGreaterThan(0);
  });

  test('when inventory and payment are killed with -9 while sagas are in flight, then after a restart every saga still finishes', async () => {
    let openAtKill: number | undefined;
    const { accepted } = await placeOrderMix(system.url('gateway'), 200, 20, async (i) => {
      if (i === 60 && openAtKill === undefined) {
        openAtKill = await killWhileSagasOpen(['inventory', 'payment']);
        await Promise.all([system.restart('inventory'), system.restart('payment')]);
      }
    });
    expect(openAtKill, 'sagas open at the moment of the kill').toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(150);
    await checkInvariants(system, accepted, stockAtStart);
  }, 180_000);

  test('when the order service is killed with -9 while sagas are in flight and restarted, then accepted orders are kept and finish', async () => {
    let openAtKill: number | undefined;
    const first = await placeOrderMix(system.url('gateway'), 60, 10, async (i) => {
      if (i === 30 && openAtKill === undefined) {
        openAtKill = await killWhileSagasOpen(['order']);
        await system.restart('order');
      }
    });
    const second = await placeOrderMix(system.url('gateway'), 40, 10);
    expect(openAtKill, 'sagas open at the moment of the kill').toBeGreaterThan(0);
    // Requests that reached the order service while it was down (or while the gateway's breaker
    // was still open after it) are refused; orders before and after the kill are accepted.
    expect(first.accepted.length).toBeGreaterThan(20);
    expect(second.accepted.length).toBeGreaterThan(0);
    await checkInvariants(system, [...first.accepted, ...second.accepted], stockAtStart);
  }, 180_000);

  test('when the services get SIGTERM, then they stop gracefully with exit code 0', async () => {
    const codes = await system.stop();
    expect(codes).toEqual({
      order: 0,
      inventory: 0,
      payment: 0,
      notification: 0,
      identity: 0,
      gateway: 0,
    });
  });
});
