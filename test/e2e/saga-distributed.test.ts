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

describe('the order saga across processes', () => {
  test('when a few hundred orders arrive at once, then every one ends CONFIRMED or CANCELLED and every invariant holds', async () => {
    const { accepted, rejected } = await placeOrderMix(system.url('gateway'), 300, 40);
    expect(rejected, system.output.tail()).toEqual([]);
    const outcome = await checkInvariants(system.sql.bind(system), accepted, stockAtStart);
    expect(outcome.confirmed).toBeGreaterThan(0);
    expect(outcome.cancelled.PAYMENT_DECLINED).toBeGreaterThan(0);
    expect(outcome.cancelled.OUT_OF_STOCK).toBeGreaterThan(0);
  });

  test('when inventory and payment are killed with -9 while orders are in flight, then after a restart every saga still finishes', async () => {
    let crashed = false;
    const { accepted } = await placeOrderMix(system.url('gateway'), 200, 20, async (i) => {
      if (i === 60 && !crashed) {
        crashed = true;
        await system.crash('inventory');
        await system.crash('payment');
        await system.restart('inventory');
        await system.restart('payment');
      }
    });
    expect(accepted.length).toBeGreaterThan(150);
    await checkInvariants(system.sql.bind(system), accepted, stockAtStart);
  });

  test('when the order service is killed with -9 and restarted, then accepted orders are kept and finish', async () => {
    const first = await placeOrderMix(system.url('gateway'), 40, 10);
    await system.crash('order');
    await system.restart('order');
    const second = await placeOrderMix(system.url('gateway'), 40, 10);
    await checkInvariants(system.sql.bind(system), [...first.accepted, ...second.accepted], stockAtStart);
  });

  test('when the services get SIGTERM, then they stop gracefully with exit code 0', async () => {
    const codes = await system.stop();
    expect(codes).toEqual({ order: 0, inventory: 0, payment: 0, notification: 0, identity: 0, gateway: 0 });
  });
});
