/**
 * The core issue's invariants, checked by SQL after the run (the same promises as
 * test/e2e/invariants.ts, reported as a list of problems instead of test assertions): every order
 * terminal, outboxes drained, stock conserved and never negative, one capture per confirmed order
 * and no money kept for a cancelled one, one notification per terminal order.
 */
export type Sql = <Row = Record<string, unknown>>(service: string, text: string, values?: unknown[]) => Promise<Row[]>;

export interface InvariantReport {
  readonly ok: boolean;
  readonly problems: string[];
  readonly orders: number;
  readonly confirmed: number;
  readonly cancelled: Record<string, number>;
}

export async function checkInvariants(sql: Sql, stockAtStart: Readonly<Record<string, number>>, acceptedAtLeast: number): Promise<InvariantReport> {
  const problems: string[] = [];
  const orders = await sql<{ status: string; reason: string | null; n: string }>(
    'order',
    'SELECT status, cancellation_reason AS reason, count(*)::text AS n FROM orders GROUP BY 1, 2',
  );
  let total = 0;
  let confirmed = 0;
  const cancelled: Record<string, number> = {};
  for (const row of orders) {
    const n = Number(row.n);
    total += n;
    if (row.status === 'CONFIRMED') confirmed += n;
    else if (row.status === 'CANCELLED') cancelled[row.reason ?? '?'] = (cancelled[row.reason ?? '?'] ?? 0) + n;
    else problems.push(`${n} orders still ${row.status}`);
  }
  if (total < acceptedAtLeast) problems.push(`${acceptedAtLeast} orders accepted (202) but only ${total} in the order database`);

  for (const service of ['order', 'inventory', 'payment', 'notification']) {
    const [row] = await sql<{ n: string }>(service, 'SELECT count(*)::text AS n FROM outbox WHERE published_at IS NULL');
    if (Number(row?.n) > 0) problems.push(`${service} outbox has ${row?.n} unpublished events`);
  }

  const products = await sql<{ sku: string; available: number; reserved: number; sold: number }>(
    'inventory',
    'SELECT sku, available, reserved, sold FROM products WHERE sku = ANY($1)',
    [Object.keys(stockAtStart)],
  );
  const soldByOrders = await sql<{ sku: string; quantity: string }>(
    'order',
    `SELECT l.sku, sum(l.quantity)::text AS quantity FROM order_lines l JOIN orders o ON o.id = l.order_id
      WHERE o.status = 'CONFIRMED' GROUP BY l.sku`,
  );
  const soldBySku = new Map(soldByOrders.map((r) => [r.sku, Number(r.quantity)]));
  for (const p of products) {
    if (p.available < 0) problems.push(`${p.sku} available ${p.available}`);
    if (p.reserved !== 0) problems.push(`${p.sku} still has ${p.reserved} reserved`);
    if (p.available + p.reserved + p.sold !== stockAtStart[p.sku]) {
      problems.push(`${p.sku} not conserved: ${p.available}+${p.reserved}+${p.sold} ≠ ${stockAtStart[p.sku]}`);
    }
    if (p.sold !== (soldBySku.get(p.sku) ?? 0)) problems.push(`${p.sku} sold ${p.sold} ≠ confirmed lines ${soldBySku.get(p.sku) ?? 0}`);
  }

  const money = await sql<{ bad_confirmed: string; bad_cancelled: string }>(
    'payment',
    `SELECT count(*) FILTER (WHERE captures <> 1 OR refunds <> 0)::text AS bad_confirmed, '0' AS bad_cancelled
       FROM (SELECT order_id, count(*) FILTER (WHERE kind = 'capture') AS captures,
                    count(*) FILTER (WHERE kind = 'refund') AS refunds
               FROM provider_ledger GROUP BY order_id) l
      WHERE order_id = ANY($1)`,
    [await confirmedIds(sql)],
  );
  if (Number(money[0]?.bad_confirmed) > 0) problems.push(`${money[0]?.bad_confirmed} confirmed orders not captured exactly once`);
  const [captures] = await sql<{ n: string }>('payment', "SELECT count(DISTINCT order_id)::text AS n FROM provider_ledger WHERE kind = 'capture'");
  const [refunds] = await sql<{ n: string }>(
    'payment',
    `SELECT count(*)::text AS n FROM (SELECT order_id FROM provider_ledger GROUP BY order_id
       HAVING count(*) FILTER (WHERE kind = 'capture') - count(*) FILTER (WHERE kind = 'refund') > 0) kept`,
  );
  if (Number(refunds?.n) !== confirmed) problems.push(`money kept for ${refunds?.n} orders but ${confirmed} confirmed (${captures?.n} ever captured)`);

  const [notes] = await sql<{ n: string; distinct: string }>('notification', 'SELECT count(*)::text AS n, count(DISTINCT order_id)::text AS distinct FROM notifications');
  if (notes?.n !== notes?.distinct) problems.push('an order was notified twice');
  const terminal = confirmed + Object.values(cancelled).reduce((a, b) => a + b, 0);
  if (Number(notes?.n) !== terminal) problems.push(`${notes?.n} notifications for ${terminal} terminal orders`);
  return { ok: problems.length === 0, problems, orders: total, confirmed, cancelled };
}

async function confirmedIds(sql: Sql): Promise<string[]> {
  const rows = await sql<{ id: string }>('order', "SELECT id::text FROM orders WHERE status = 'CONFIRMED'");
  return rows.map((r) => r.id);
}
