import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectNatsBus, type Bus } from '@orderly/platform';
import { eventually } from '@orderly/platform/testing';
import { createCatalogAsAdmin, plenty } from './order-mix.js';
import { DistributedSystem, natsUrl, placeOrder, type Service } from './system-harness.js';

/**
 * The saga owns its order's reservation: whatever waits (the order service down, a settlement in
 * the dead letters), a CONFIRMED order ends with its units sold and a CANCELLED one with its money
 * returned. The TTL is short so both outages outlast it, and above sagaTimeoutMs + sagaSweepIntervalMs
 * as the start-up check demands; risk's review timeout (with its sweep) stays below it too.
 */
const sagaTimeoutMs = 4000;
const reservationTtlMs = 5000;

let system: DistributedSystem;
let bus: Bus;

beforeAll(async () => {
  system = await DistributedSystem.start({
    ORDERLY_SERVICES__ORDER__SAGA_TIMEOUT_MS: String(sagaTimeoutMs),
    ORDERLY_SERVICES__ORDER__SAGA_SWEEP_INTERVAL_MS: '500',
    ORDERLY_SERVICES__INVENTORY__RESERVATION_TTL_MS: String(reservationTtlMs),
    ORDERLY_SERVICES__INVENTORY__EXPIRY_SWEEP_INTERVAL_MS: '250',
    ORDERLY_SERVICES__RISK__REVIEW_TIMEOUT_MS: '3000',
    ORDERLY_SERVICES__RISK__REVIEW_SWEEP_INTERVAL_MS: '500',
  });
  await createCatalogAsAdmin(system.url('gateway'));
  bus = await connectNatsBus({
    servers: natsUrl,
    stream: `E2E_${system.id}`,
    deadLetterStream: `E2E_${system.id}_DL`,
    duplicateWindowMs: 120_000,
    subjects: [`e2e${system.id}.>`],
    deadLetterSubjectPrefix: `e2e${system.id}dl`,
    name: 'orderly-e2e-reservation-ownership',
  });
}, 120_000);

afterAll(async () => {
  await bus?.close();
  await system?.stop();
  await system?.cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM and wait for the exit: the service is down until `system.restart`. */
async function stopService(service: Service): Promise<void> {
  const child = system.processes.get(service) as ChildProcess;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function placePaidOrders(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { status, orderId, error } = await placeOrder(system.url('gateway'), `owner-${i}`, {
      lines: [{ sku: plenty.sku, quantity: 1 }],
      paymentMethod: 'pm_card_ok',
    });
    expect(status, JSON.stringify(error)).toBe(202);
    ids.push(orderId!);
  }
  return ids;
}

const orderStatuses = (ids: readonly string[]) =>
  system.sql<{ id: string; status: string }>(
    'order',
    'SELECT id::text, status FROM orders WHERE id::text = ANY($1)',
    [ids],
  );

/** What inventory and payment hold for each order, next to the order's own status. */
async function settlementOf(ids: readonly string[]) {
  const orders = await orderStatuses(ids);
  const reservations = await system.sql<{ order_id: string; status: string }>(
    'inventory',
    'SELECT order_id, status FROM reservations WHERE order_id = ANY($1)',
    [ids],
  );
  const net = await system.sql<{ order_id: string; net: string }>(
    'payment',
    `SELECT order_id, sum(CASE kind WHEN 'capture' THEN amount_cents ELSE -amount_cents END)::text AS net
       FROM provider_ledger WHERE order_id = ANY($1) GROUP BY order_id`,
    [ids],
  );
  const reservationOf = new Map(reservations.map((r) => [r.order_id, r.status]));
  const netOf = new Map(net.map((n) => [n.order_id, Number(n.net)]));
  return orders.map((o) => ({
    orderId: o.id,
    order: o.status,
    reservation: reservationOf.get(o.id),
    netCaptureCents: netOf.get(o.id) ?? 0,
  }));
}

/** Every CONFIRMED order's units are sold; every CANCELLED one holds no stock and kept no money. */
function expectSettled(settlement: Awaited<ReturnType<typeof settlementOf>>): void {
  for (const s of settlement) {
    if (s.order === 'CONFIRMED') expect(s).toMatchObject({ reservation: 'CONFIRMED' });
    else {
      expect(s).toMatchObject({ order: 'CANCELLED', netCaptureCents: 0 });
      expect(s.reservation).not.toBe('RESERVED');
    }
  }
}

async function stockOfPlenty() {
  const [row] = await system.sql<{ available: number; reserved: number; sold: number }>(
    'inventory',
    'SELECT available, reserved, sold FROM products WHERE sku = $1',
    [plenty.sku],
  );
  return row!;
}

describe('the saga owns its reservation', () => {
  test('when the order service is down longer than the reservation TTL while payments succeed, then every CONFIRMED order is sold and every CANCELLED one is refunded', async () => {
    // Payment down first, so the orders wait at STOCK_RESERVED with PaymentRequested published
    // (after the risk step approved them).
    await stopService('payment');
    const ids = await placePaidOrders(8);
    await eventually(
      async () =>
        expect(
          await system.sql<{ status: string; risk_review: string | null }>(
            'order',
            'SELECT status, risk_review FROM orders WHERE id::text = ANY($1)',
            [ids],
          ),
        ).toEqual(ids.map(() => ({ status: 'STOCK_RESERVED', risk_review: 'APPROVED' }))),
      { timeoutMs: 3000 },
    );
    await stopService('order');
    await system.restart('payment');
    // PaymentSucceeded for every order now waits in the stream, for longer than the TTL.
    await eventually(
      async () =>
        expect(
          await system.sql(
            'payment',
            "SELECT 1 FROM payments WHERE order_id = ANY($1) AND status = 'CAPTURED'",
            [ids],
          ),
        ).toHaveLength(ids.length),
      { timeoutMs: 15_000 },
    );
    await sleep(reservationTtlMs + 1000);
    await system.restart('order');

    await eventually(
      async () => {
        const settlement = await settlementOf(ids);
        expect(
          settlement.map((s) => s.order).filter((s) => s !== 'CONFIRMED' && s !== 'CANCELLED'),
        ).toEqual([]);
        expectSettled(settlement);
        expect((await stockOfPlenty()).reserved).toBe(0);
      },
      { timeoutMs: 20_000 },
    );
  }, 60_000);

  test('when an OrderConfirmed is dead-lettered at inventory and redriven after the reservation TTL, then the order is sold', async () => {
    // A settlement that keeps failing (here: the database refuses it) ends in the dead letters.
    await system.sql(
      'inventory',
      `CREATE OR REPLACE FUNCTION e2e_refuse_confirmation() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN RAISE EXCEPTION 'e2e: confirmation refused'; END $$;
       CREATE TRIGGER e2e_refuse_confirmation BEFORE UPDATE ON reservations
         FOR EACH ROW WHEN (NEW.status = 'CONFIRMED') EXECUTE FUNCTION e2e_refuse_confirmation()`,
    );
    const soldBefore = (await stockOfPlenty()).sold;
    const [orderId] = await placePaidOrders(1);
    await eventually(
      async () => {
        const letters = await bus.listDeadLetters();
        expect(
          letters.filter((l) => l.subscription === 'inventory.settle-reservations'),
        ).toHaveLength(1);
      },
      { timeoutMs: 20_000 },
    );
    expect(await orderStatuses([orderId!])).toEqual([{ id: orderId, status: 'CONFIRMED' }]);

    await sleep(reservationTtlMs + 1000);
    await system.sql(
      'inventory',
      'DROP TRIGGER e2e_refuse_confirmation ON reservations; DROP FUNCTION e2e_refuse_confirmation()',
    );
    const letters = await bus.listDeadLetters();
    await bus.redriveDeadLetters(
      letters.filter((l) => l.subscription === 'inventory.settle-reservations').map((l) => l.id),
    );

    await eventually(
      async () => {
        expectSettled(await settlementOf([orderId!]));
        expect((await stockOfPlenty()).sold).toBe(soldBefore + 1);
      },
      { timeoutMs: 15_000 },
    );
  }, 60_000);
});
