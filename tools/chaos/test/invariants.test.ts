import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { dropTestDatabase, uniqueName } from '@orderly/platform/testing';
import {
  checkInvariants,
  invariantNames,
  type InvariantInput,
  type InvariantName,
  type ServiceWithDatabase,
  type Sql,
} from '@orderly/chaos/invariants';

/**
 * The checker against hand-made rows: one PostgreSQL database with a schema per service, built by
 * the services' own migrations. A consistent world passes every invariant; each test then breaks
 * exactly one promise and expects exactly that invariant to be reported.
 */
const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const repoRoot = new URL('../../../', import.meta.url).pathname;
const schemas: readonly ServiceWithDatabase[] = [
  'order',
  'inventory',
  'payment',
  'notification',
  'identity',
  'risk',
];
const database = uniqueName('orderly_invariants');
const clients = new Map<ServiceWithDatabase, pg.Client>();
const workDir = mkdtempSync(join(tmpdir(), 'orderly-invariants-'));
const sinkFile = join(workDir, 'notifications.jsonl');

const sql: Sql = async <Row>(service: ServiceWithDatabase, text: string, values: unknown[] = []) =>
  (await clients.get(service)!.query(text, values)).rows as Row[];

function migrations(service: ServiceWithDatabase): string[] {
  const dir = join(repoRoot, `services/${service}/src/data-access/migrations`);
  return [
    readFileSync(join(repoRoot, 'platform/src/db/migrations/0000_outbox_inbox.sql'), 'utf8'),
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()
      .map((f) => readFileSync(join(dir, f), 'utf8')),
  ];
}

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  for (const service of schemas) {
    const setup = new pg.Client({ connectionString: url.toString() });
    await setup.connect();
    await setup.query(`CREATE SCHEMA "${service}"`);
    await setup.end();
    const client = new pg.Client({
      connectionString: url.toString(),
      options: `-c search_path="${service}"`,
    });
    await client.connect();
    for (const migration of migrations(service)) await client.query(migration);
    clients.set(service, client);
  }
});

afterAll(async () => {
  for (const client of clients.values()) await client.end();
  await dropTestDatabase(serverUrl, database);
  rmSync(workDir, { recursive: true, force: true });
});

const confirmed = {
  id: randomUUID(),
  customer: 'customer-1',
  key: 'key-1',
  total: 2500n,
  sku: 'SKU-A',
  quantity: 2,
};
const cancelled = {
  id: randomUUID(),
  customer: 'customer-2',
  key: 'key-2',
  total: 990n,
  sku: 'SKU-B',
  quantity: 1,
};
/** Confirmed, then cancelled by its customer: captured and refunded, its units returned. */
const returned = {
  id: randomUUID(),
  customer: 'customer-3',
  key: 'key-3',
  total: 1200n,
  sku: 'SKU-C',
  quantity: 3,
};
const notificationIds = {
  confirmed: randomUUID(),
  cancelled: randomUUID(),
  returned: randomUUID(),
};
const stockAtStart = { 'SKU-A': 100, 'SKU-B': 50, 'SKU-C': 30 };

function sinkLine(
  order: { id: string; customer: string },
  kind: string,
  notificationId: string,
): string {
  return `${JSON.stringify({ notificationId, orderId: order.id, customerId: order.customer, kind, text: 'Your order …' })}\n`;
}

/**
 * A run that kept every promise: one confirmed order, one cancelled after its payment was declined,
 * one its customer cancelled after the confirmation.
 */
async function consistentWorld(): Promise<void> {
  for (const service of schemas) {
    const tables = await sql<{ name: string }>(
      service,
      'SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()',
    );
    await sql(
      service,
      `TRUNCATE ${tables.map((t) => `"${t.name}"`).join(', ')} RESTART IDENTITY CASCADE`,
    );
  }
  for (const o of [confirmed, cancelled, returned]) {
    const done = o === confirmed ? 'CONFIRMED' : 'CANCELLED';
    const reason =
      o === cancelled ? 'PAYMENT_DECLINED' : o === returned ? 'CUSTOMER_REQUESTED' : null;
    await sql(
      'order',
      `INSERT INTO orders (id, customer_id, idempotency_key, request_fingerprint, status, cancellation_reason, payment_method, total_cents, placed_at, updated_at)
       VALUES ($1, $2, $3, 'fp', $4, $5, 'pm_card_ok', $6, now(), now())`,
      [o.id, o.customer, o.key, done, reason, o.total.toString()],
    );
    await sql(
      'order',
      'INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_cents) VALUES ($1, 1, $2, $3, $4)',
      [o.id, o.sku, o.quantity, (o.total / BigInt(o.quantity)).toString()],
    );
    const path =
      o === returned
        ? ['PENDING', 'STOCK_RESERVED', 'CONFIRMED', 'CANCELLED']
        : ['PENDING', 'STOCK_RESERVED', done];
    for (const [seq, status] of path.entries()) {
      await sql(
        'order',
        'INSERT INTO order_status_history (order_id, seq, status, at) VALUES ($1, $2, $3, now())',
        [o.id, seq + 1, status],
      );
    }
    const [reservation] = await sql<{ id: string }>(
      'inventory',
      `INSERT INTO reservations (order_id, status, created_at, expires_at, settled_at) VALUES ($1, $2, now(), now(), now()) RETURNING id::text`,
      [o.id, o === returned ? 'RETURNED' : done],
    );
    await sql(
      'inventory',
      "INSERT INTO products (sku, name, price_cents) VALUES ($1, 'p', 1) ON CONFLICT DO NOTHING",
      [o.sku],
    );
    await sql(
      'inventory',
      'INSERT INTO reservation_lines (reservation_id, sku, quantity, unit_price_cents) VALUES ($1, $2, $3, 1)',
      [reservation!.id, o.sku, o.quantity],
    );
  }
  await sql('inventory', "UPDATE products SET available = 98, sold = 2 WHERE sku = 'SKU-A'");
  await sql('inventory', "UPDATE products SET available = 50 WHERE sku = 'SKU-B'");
  await sql('inventory', "UPDATE products SET available = 30 WHERE sku = 'SKU-C'");
  await sql(
    'payment',
    "INSERT INTO provider_ledger (kind, order_id, amount_cents, provider_ref, idempotency_key) VALUES ('capture', $1, $2, 'cap-1', 'capture:1')",
    [confirmed.id, confirmed.total.toString()],
  );
  await sql(
    'payment',
    "INSERT INTO provider_ledger (kind, order_id, amount_cents, provider_ref, idempotency_key) VALUES ('capture', $1, $2, 'cap-3', 'capture:3'), ('refund', $1, $2, 'cap-3', 'refund:3')",
    [returned.id, returned.total.toString()],
  );
  // The confirmed order went through the risk step and was approved by the rule plugin.
  await sql('order', "UPDATE orders SET risk_review = 'APPROVED' WHERE id = $1", [confirmed.id]);
  await sql(
    'risk',
    `INSERT INTO assessments (order_id, customer_id, amount_cents, currency, placed_at, decision, decided_by,
                              reasons, score, fail_policy, final_decision, assessed_at)
     VALUES ($1, $2, $3, 'EUR', now(), 'APPROVE', 'RULE', '{}', 0, false, 'APPROVE', now())`,
    [confirmed.id, confirmed.customer, confirmed.total.toString()],
  );
  for (const [o, kind, id] of [
    [confirmed, 'ORDER_CONFIRMED', notificationIds.confirmed],
    [cancelled, 'ORDER_CANCELLED', notificationIds.cancelled],
    [returned, 'ORDER_CONFIRMED', notificationIds.returned],
  ] as const) {
    await sql(
      'notification',
      "INSERT INTO notifications (order_id, notification_id, customer_id, kind, text, created_at) VALUES ($1, $2, $3, $4, 't', now())",
      [o.id, id, o.customer, kind],
    );
  }
  writeFileSync(
    sinkFile,
    sinkLine(confirmed, 'ORDER_CONFIRMED', notificationIds.confirmed) +
      sinkLine(cancelled, 'ORDER_CANCELLED', notificationIds.cancelled) +
      sinkLine(returned, 'ORDER_CONFIRMED', notificationIds.returned),
  );
}

const input: InvariantInput = {
  stockAtStart,
  acceptedIds: [confirmed.id, cancelled.id, returned.id],
  sentIdempotencyKeys: [confirmed.key, cancelled.key, returned.key],
  deadLetters: [],
  explainedEventIds: new Set(),
  notificationOutputFile: sinkFile,
};

async function failing(overrides: Partial<InvariantInput> = {}): Promise<InvariantName[]> {
  const report = await checkInvariants(sql, { ...input, ...overrides });
  return report.invariants.filter((i) => !i.passed).map((i) => i.name);
}

beforeEach(consistentWorld);

describe('checkInvariants', () => {
  test('when the run kept every promise, then every invariant is checked and holds', async () => {
    const report = await checkInvariants(sql, input);
    expect(report.problems).toEqual([]);
    expect(report.invariants.map((i) => [i.name, i.checked])).toEqual(
      invariantNames.map((n) => [n, true]),
    );
    expect(report.ok).toBe(true);
  });

  const violations: Record<
    InvariantName,
    { what: string; act: () => Promise<Partial<InvariantInput> | void> }
  > = {
    'no-accepted-order-missing': {
      what: 'an accepted order is not in the database',
      act: () => Promise.resolve({ acceptedIds: [...input.acceptedIds!, randomUUID()] }),
    },
    'no-phantom-order': {
      what: 'an order has a key no client sent',
      act: () => Promise.resolve({ sentIdempotencyKeys: [confirmed.key, returned.key] }),
    },
    'every-order-terminal': {
      what: 'an order is still STOCK_RESERVED',
      act: async () => {
        await sql(
          'order',
          "UPDATE orders SET status = 'STOCK_RESERVED', cancellation_reason = NULL WHERE id = $1",
          [cancelled.id],
        );
        await sql('order', 'DELETE FROM order_status_history WHERE order_id = $1 AND seq = 3', [
          cancelled.id,
        ]);
        await sql('inventory', "UPDATE reservations SET status = 'CANCELLED' WHERE order_id = $1", [
          cancelled.id,
        ]);
        await sql('notification', 'DELETE FROM notifications WHERE order_id = $1', [cancelled.id]);
        writeFileSync(
          sinkFile,
          sinkLine(confirmed, 'ORDER_CONFIRMED', notificationIds.confirmed) +
            sinkLine(returned, 'ORDER_CONFIRMED', notificationIds.returned),
        );
      },
    },
    'only-legal-transitions': {
      what: 'a history skips STOCK_RESERVED',
      act: async () => {
        await sql(
          'order',
          "UPDATE order_status_history SET status = 'CANCELLED' WHERE order_id = $1 AND seq = 2",
          [confirmed.id],
        );
      },
    },
    'stock-conserved': {
      what: 'a unit of stock vanished',
      act: async () => {
        await sql('inventory', "UPDATE products SET available = 49 WHERE sku = 'SKU-B'");
      },
    },
    'reservation-fate-agrees': {
      what: "a cancelled order's reservation is confirmed",
      act: async () => {
        await sql('inventory', "UPDATE reservations SET status = 'CONFIRMED' WHERE order_id = $1", [
          cancelled.id,
        ]);
      },
    },
    'confirmed-order-lines-sold': {
      what: "a confirmed order's reservation sold another quantity than it ordered",
      act: async () => {
        await sql('inventory', 'UPDATE reservation_lines SET quantity = 3 WHERE sku = $1', [
          confirmed.sku,
        ]);
      },
    },
    'captured-amount-equals-total': {
      what: 'the provider captured less than the order total',
      act: async () => {
        await sql(
          'payment',
          'UPDATE provider_ledger SET amount_cents = amount_cents - 100 WHERE order_id = $1',
          [confirmed.id],
        );
      },
    },
    'confirmed-order-approved-by-risk': {
      what: 'a confirmed order is still held for review by risk (never approved)',
      act: async () => {
        await sql(
          'risk',
          "UPDATE assessments SET decision = 'REVIEW', final_decision = NULL WHERE order_id = $1",
          [confirmed.id],
        );
      },
    },
    'risk-rejected-order-holds-nothing': {
      what: 'an order risk rejected was charged (and refunded: the money nets zero)',
      act: async () => {
        await sql(
          'order',
          "UPDATE orders SET cancellation_reason = 'RISK_REJECTED' WHERE id = $1",
          [cancelled.id],
        );
        await sql(
          'risk',
          `INSERT INTO assessments (order_id, customer_id, amount_cents, currency, placed_at, decision, decided_by,
                                    reasons, score, fail_policy, final_decision, assessed_at)
           VALUES ($1, $2, $3, 'EUR', now(), 'REJECT', 'RULE', '{AMOUNT_HIGH}', 800, false, 'REJECT', now())`,
          [cancelled.id, cancelled.customer, cancelled.total.toString()],
        );
        await sql(
          'payment',
          "INSERT INTO provider_ledger (kind, order_id, amount_cents, provider_ref, idempotency_key) VALUES ('capture', $1, $2, 'cap-2', 'capture:2'), ('refund', $1, $2, 'cap-2', 'refund:2')",
          [cancelled.id, cancelled.total.toString()],
        );
      },
    },
    'notification-delivered-per-terminal-order': {
      what: 'the sink holds no message for the cancelled order (the table says it was sent)',
      act: () =>
        Promise.resolve(
          writeFileSync(
            sinkFile,
            sinkLine(confirmed, 'ORDER_CONFIRMED', notificationIds.confirmed) +
              sinkLine(returned, 'ORDER_CONFIRMED', notificationIds.returned),
          ),
        ),
    },
    'outboxes-drained': {
      what: 'an event was never published',
      act: async () => {
        await sql(
          'payment',
          "INSERT INTO outbox (event_id, subject, event_type, payload) VALUES ($1, 's', 't', '\\x00')",
          [randomUUID()],
        );
      },
    },
    'dead-letters-explained': {
      what: 'a dead letter the run did not inject',
      act: () =>
        Promise.resolve({
          deadLetters: [
            { eventId: randomUUID(), subscription: 'order.payment-outcomes', error: 'boom' },
          ],
        }),
    },
  };

  for (const name of invariantNames) {
    const { what, act } = violations[name];
    test(`when ${what}, then ${name} is reported (and nothing else)`, async () => {
      const overrides = (await act()) ?? {};
      const report = await checkInvariants(sql, { ...input, ...overrides });
      expect(report.invariants.filter((i) => !i.passed).map((i) => i.name)).toEqual([name]);
      expect(report.ok).toBe(false);
      expect(report.problems).toHaveLength(1);
      expect(report.problems[0]).toMatch(new RegExp(`^${name}: 1 `));
    });
  }

  test('when the sink repeats a message with another notification id, or of the other outcome, then the notification invariant is broken', async () => {
    writeFileSync(sinkFile, sinkLine(confirmed, 'ORDER_CONFIRMED', randomUUID()), { flag: 'a' });
    expect(await failing()).toEqual(['notification-delivered-per-terminal-order']);
    await consistentWorld();
    writeFileSync(sinkFile, sinkLine(cancelled, 'ORDER_CONFIRMED', notificationIds.cancelled), {
      flag: 'a',
    });
    expect(await failing()).toEqual(['notification-delivered-per-terminal-order']);
  });

  test('when the sink repeats a message with the same notification id, then that is no violation (at-least-once towards the sink)', async () => {
    writeFileSync(sinkFile, sinkLine(confirmed, 'ORDER_CONFIRMED', notificationIds.confirmed), {
      flag: 'a',
    });
    expect(await failing()).toEqual([]);
  });

  test('when a refund returns a capture that was never made for the order, then the money invariant is broken', async () => {
    await sql(
      'payment',
      "INSERT INTO provider_ledger (kind, order_id, amount_cents, provider_ref, idempotency_key) VALUES ('capture', $1, 990, 'cap-2', 'capture:2'), ('refund', $1, 990, 'cap-other', 'refund:2')",
      [cancelled.id],
    );
    expect(await failing()).toEqual(['captured-amount-equals-total']);
  });

  describe('an order its customer cancelled after the confirmation', () => {
    test('when its history went CONFIRMED → CANCELLED for another reason than CUSTOMER_REQUESTED, then the transition is illegal (and its confirmation message no longer matches)', async () => {
      await sql('order', "UPDATE orders SET cancellation_reason = 'TIMED_OUT' WHERE id = $1", [
        returned.id,
      ]);
      expect(await failing()).toEqual([
        'only-legal-transitions',
        'notification-delivered-per-terminal-order',
      ]);
    });

    test('when it was never captured (nothing to refund), then the money invariant is broken although it nets zero', async () => {
      await sql('payment', 'DELETE FROM provider_ledger WHERE order_id = $1', [returned.id]);
      expect(await failing()).toEqual(['captured-amount-equals-total']);
    });

    test('when its refund is missing, then the money invariant is broken', async () => {
      await sql('payment', "DELETE FROM provider_ledger WHERE order_id = $1 AND kind = 'refund'", [
        returned.id,
      ]);
      expect(await failing()).toEqual(['captured-amount-equals-total']);
    });

    test('when its units were not taken back, then stock and the reservation are reported', async () => {
      await sql('inventory', "UPDATE reservations SET status = 'CONFIRMED' WHERE order_id = $1", [
        returned.id,
      ]);
      await sql('inventory', "UPDATE products SET available = 27, sold = 3 WHERE sku = 'SKU-C'");
      expect(await failing()).toEqual(['stock-conserved', 'reservation-fate-agrees']);
    });

    test('when the customer was told of the cancellation instead of the confirmation, then that is its message too', async () => {
      await sql(
        'notification',
        "UPDATE notifications SET kind = 'ORDER_CANCELLED' WHERE order_id = $1",
        [returned.id],
      );
      writeFileSync(
        sinkFile,
        sinkLine(confirmed, 'ORDER_CONFIRMED', notificationIds.confirmed) +
          sinkLine(cancelled, 'ORDER_CANCELLED', notificationIds.cancelled) +
          sinkLine(returned, 'ORDER_CANCELLED', notificationIds.returned),
      );
      expect(await failing()).toEqual([]);
    });
  });

  test('when the input does not allow a check and gives no waiver, then the invariant fails as not checked', async () => {
    const report = await checkInvariants(sql, {
      ...input,
      deadLetters: undefined,
      notificationOutputFile: undefined,
    });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      'notification-delivered-per-terminal-order: not checked (the run gave no input for it and no waiver)',
      'dead-letters-explained: not checked (the run gave no input for it and no waiver)',
    ]);
  });

  test('when an unchecked invariant is waived with a reason, then it passes and the reason is reported', async () => {
    const report = await checkInvariants(sql, {
      ...input,
      deadLetters: undefined,
      waivers: {
        'dead-letters-explained': 'in-memory bus: the dead letters live in the launcher process',
        'no-phantom-order': '   ',
      },
    });
    expect(report.ok).toBe(true);
    expect(report.waived).toEqual([
      'dead-letters-explained: waived (in-memory bus: the dead letters live in the launcher process)',
    ]);
    const blank = await checkInvariants(sql, {
      ...input,
      sentIdempotencyKeys: undefined,
      waivers: { 'no-phantom-order': '   ' },
    });
    expect(blank.ok, 'a blank reason is no waiver').toBe(false);
  });
});
