/**
 * The promises Orderly makes, checked after a run against each service's own database and the
 * simulated payment provider's ledger. Every invariant yields the rows that break it: an empty list
 * means it holds. The end-to-end tests, the benchmark and the chaos drills all use this one module.
 *
 * Each check reads one database at a time (rule 1: no cross-database queries); where a promise spans
 * two services (order ↔ inventory, order ↔ payment) both sides are read and compared here.
 */
export type ServiceWithDatabase = 'order' | 'inventory' | 'payment' | 'notification' | 'identity';

export type Sql = <Row = Record<string, unknown>>(service: ServiceWithDatabase, text: string, values?: unknown[]) => Promise<Row[]>;

/** What the client side knows about the run: the ground truth the databases are compared against. */
export interface InvariantInput {
  /** Stock each checked SKU had before the run (the only stock movements are orders). */
  readonly stockAtStart: Readonly<Record<string, number>>;
  /** Ids of the orders the API accepted (202). */
  readonly acceptedIds?: readonly string[];
  /** When only a count is known (the benchmark): at least this many orders must exist. */
  readonly acceptedAtLeast?: number;
  /**
   * Every idempotency key a client sent. When given, an order whose key is not among them is a
   * phantom (nobody asked for it).
   */
  readonly sentIdempotencyKeys?: readonly string[];
  /** Dead letters present after the run; absent when the caller cannot list them. */
  readonly deadLetters?: readonly { readonly eventId: string; readonly subscription: string; readonly error: string }[];
  /** Event ids the run injected on purpose (poison messages): their dead letters are explained. */
  readonly explainedEventIds?: ReadonlySet<string>;
  /** Services whose outbox must be drained (default: all with a database). */
  readonly outboxServices?: readonly ServiceWithDatabase[];
}

export interface InvariantResult {
  readonly name: string;
  readonly description: string;
  /** False when the input did not allow the check (e.g. no dead-letter list). */
  readonly checked: boolean;
  readonly violations: number;
  /** A few violating rows, for the report. */
  readonly examples: string[];
}

export interface InvariantReport {
  readonly ok: boolean;
  /** One line per broken invariant (what the benchmark prints). */
  readonly problems: string[];
  readonly invariants: InvariantResult[];
  readonly orders: number;
  readonly confirmed: number;
  readonly cancelled: Record<string, number>;
  readonly open: number;
}

const exampleCount = 5;
const databaseServices: readonly ServiceWithDatabase[] = ['order', 'inventory', 'payment', 'notification', 'identity'];

/** Legal order transitions (services/order/src/domain): anything else in the history is a violation. */
const legalTransitions = new Set(['->PENDING', 'PENDING->STOCK_RESERVED', 'PENDING->CANCELLED', 'STOCK_RESERVED->CONFIRMED', 'STOCK_RESERVED->CANCELLED']);

interface OrderRow {
  id: string;
  status: string;
  reason: string | null;
  key: string;
  customer: string;
}

export async function checkInvariants(sql: Sql, input: InvariantInput): Promise<InvariantReport> {
  const results: InvariantResult[] = [];
  const add = (name: string, description: string, violations: string[] | undefined) =>
    results.push({
      name,
      description,
      checked: violations !== undefined,
      violations: violations?.length ?? 0,
      examples: (violations ?? []).slice(0, exampleCount),
    });

  const orders = await sql<OrderRow>(
    'order',
    'SELECT id::text, status, cancellation_reason AS reason, idempotency_key AS key, customer_id AS customer FROM orders',
  );
  const orderById = new Map(orders.map((o) => [o.id, o]));
  const terminal = (o: OrderRow) => o.status === 'CONFIRMED' || o.status === 'CANCELLED';

  // Nothing accepted is lost.
  let missing: string[] | undefined;
  if (input.acceptedIds) missing = input.acceptedIds.filter((id) => !orderById.has(id));
  else if (input.acceptedAtLeast !== undefined && orders.length < input.acceptedAtLeast) {
    missing = [`${input.acceptedAtLeast} accepted (202) but ${orders.length} in the order database`];
  } else if (input.acceptedAtLeast !== undefined) missing = [];
  add('no-accepted-order-missing', 'every order the API accepted (202) is in the order database', missing);

  // Nothing appears that nobody asked for.
  let phantoms: string[] | undefined;
  if (input.sentIdempotencyKeys) {
    const sent = new Set(input.sentIdempotencyKeys);
    phantoms = orders.filter((o) => !sent.has(o.key)).map((o) => `${o.id} (key ${o.key})`);
  }
  add('no-phantom-order', 'every order has an idempotency key a client sent', phantoms);

  const duplicates = await sql<{ customer: string; key: string; n: string }>(
    'order',
    `SELECT customer_id AS customer, idempotency_key AS key, count(*)::text AS n FROM orders
      GROUP BY 1, 2 HAVING count(*) > 1`,
  );
  add('one-order-per-idempotency-key', 'a (customer, idempotency key) never made two orders', duplicates.map((d) => `${d.customer}/${d.key} × ${d.n}`));

  add('every-order-terminal', 'every order is CONFIRMED or CANCELLED', orders.filter((o) => !terminal(o)).map((o) => `${o.id}:${o.status}`));

  // Read with the orders' status in one statement: a saga moving between two reads is no violation.
  const history = await sql<{ id: string; status: string; transitions: string[] | null; last: string | null }>(
    'order',
    `SELECT o.id::text, o.status, h.transitions, h.last
       FROM orders o LEFT JOIN (
         SELECT order_id, array_agg(coalesce(prev, '') || '->' || status ORDER BY seq) AS transitions,
                (array_agg(status ORDER BY seq DESC))[1] AS last
           FROM (SELECT order_id, seq, status, lag(status) OVER (PARTITION BY order_id ORDER BY seq) AS prev
                   FROM order_status_history) steps
          GROUP BY order_id) h ON h.order_id = o.id`,
  );
  const illegal: string[] = [];
  for (const h of history) {
    if (!h.transitions || h.last === null) illegal.push(`${h.id}: no history`);
    else if (h.last !== h.status) illegal.push(`${h.id}: status ${h.status} but history ends ${h.last}`);
    else for (const t of h.transitions) if (!legalTransitions.has(t)) illegal.push(`${h.id}: ${t}`);
  }
  add('only-legal-transitions', 'each order history is a path of the state machine and ends in its status', illegal);

  // Stock.
  const skus = Object.keys(input.stockAtStart);
  const products = await sql<{ sku: string; available: number; reserved: number; sold: number }>(
    'inventory',
    'SELECT sku, available, reserved, sold FROM products WHERE sku = ANY($1)',
    [skus],
  );
  add(
    'no-stock-below-zero',
    'available, reserved and sold are never negative',
    products.filter((p) => p.available < 0 || p.reserved < 0 || p.sold < 0).map((p) => `${p.sku} ${p.available}/${p.reserved}/${p.sold}`),
  );
  const soldByOrders = await sql<{ sku: string; quantity: string }>(
    'order',
    `SELECT l.sku, sum(l.quantity)::text AS quantity FROM order_lines l JOIN orders o ON o.id = l.order_id
      WHERE o.status = 'CONFIRMED' GROUP BY l.sku`,
  );
  const heldByReservations = await sql<{ sku: string; quantity: string }>(
    'inventory',
    `SELECT l.sku, sum(l.quantity)::text AS quantity FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
      WHERE r.status = 'RESERVED' GROUP BY l.sku`,
  );
  const soldBySku = new Map(soldByOrders.map((r) => [r.sku, Number(r.quantity)]));
  const heldBySku = new Map(heldByReservations.map((r) => [r.sku, Number(r.quantity)]));
  const conservation: string[] = [];
  for (const p of products) {
    const start = input.stockAtStart[p.sku] ?? 0;
    if (p.available + p.reserved + p.sold !== start) conservation.push(`${p.sku}: ${p.available}+${p.reserved}+${p.sold} ≠ ${start}`);
    if (p.sold !== (soldBySku.get(p.sku) ?? 0)) conservation.push(`${p.sku}: sold ${p.sold} ≠ confirmed lines ${soldBySku.get(p.sku) ?? 0}`);
    if (p.reserved !== (heldBySku.get(p.sku) ?? 0)) conservation.push(`${p.sku}: reserved ${p.reserved} ≠ open reservations ${heldBySku.get(p.sku) ?? 0}`);
  }
  for (const sku of skus) if (!products.some((p) => p.sku === sku)) conservation.push(`${sku}: product missing`);
  add('stock-conserved', 'per SKU available + reserved + sold = starting stock; sold = confirmed lines; reserved = open reservations', conservation);

  // Order and inventory agree on every reservation's fate.
  const reservations = await sql<{ order_id: string; status: string }>('inventory', 'SELECT order_id, status FROM reservations');
  const reservationByOrder = new Map(reservations.map((r) => [r.order_id, r.status]));
  const fate: string[] = [];
  for (const order of orders) {
    const r = reservationByOrder.get(order.id);
    if (order.status === 'CONFIRMED' && r !== 'CONFIRMED') fate.push(`${order.id}: CONFIRMED but reservation ${r ?? 'absent'}`);
    if (order.status === 'CANCELLED' && (r === 'CONFIRMED' || r === 'RESERVED')) fate.push(`${order.id}: CANCELLED but reservation ${r}`);
  }
  for (const r of reservations) if (!orderById.has(r.order_id)) fate.push(`reservation for unknown order ${r.order_id} (${r.status})`);
  add('reservation-fate-agrees', 'a confirmed order has a confirmed reservation; a cancelled one holds and sells nothing', fate);

  // Money, against the provider's own ledger.
  const ledger = await sql<{ order_id: string; captures: string; refunds: string }>(
    'payment',
    `SELECT order_id, count(*) FILTER (WHERE kind = 'capture')::text AS captures,
            count(*) FILTER (WHERE kind = 'refund')::text AS refunds
       FROM provider_ledger GROUP BY order_id`,
  );
  const ledgerByOrder = new Map(ledger.map((l) => [l.order_id, { captures: Number(l.captures), refunds: Number(l.refunds) }]));
  const money: string[] = [];
  for (const order of orders) {
    const entry = ledgerByOrder.get(order.id) ?? { captures: 0, refunds: 0 };
    if (order.status === 'CONFIRMED' && (entry.captures !== 1 || entry.refunds !== 0)) money.push(`${order.id} CONFIRMED: ${entry.captures} captures, ${entry.refunds} refunds`);
    if (order.status === 'CANCELLED' && (entry.captures - entry.refunds !== 0 || entry.captures > 1)) money.push(`${order.id} CANCELLED: ${entry.captures} captures, ${entry.refunds} refunds`);
  }
  for (const l of ledger) if (!orderById.has(l.order_id)) money.push(`ledger entries for unknown order ${l.order_id}`);
  add('one-net-capture-per-confirmed-order', 'the ledger nets one capture per confirmed order and zero per cancelled one', money);

  const notifications = await sql<{ order_id: string; kind: string }>('notification', 'SELECT order_id, kind FROM notifications');
  const notified = new Map(notifications.map((n) => [n.order_id, n.kind]));
  const notes: string[] = [];
  for (const order of orders.filter(terminal)) {
    const kind = notified.get(order.id);
    const expected = order.status === 'CONFIRMED' ? 'ORDER_CONFIRMED' : 'ORDER_CANCELLED';
    if (kind !== expected) notes.push(`${order.id} ${order.status}: notification ${kind ?? 'absent'}`);
  }
  for (const n of notifications) {
    const order = orderById.get(n.order_id);
    if (!order || !terminal(order)) notes.push(`notification for ${order ? order.status : 'unknown'} order ${n.order_id}`);
  }
  add('one-notification-per-terminal-order', 'each terminal order has exactly one message, of its outcome', notes);

  const undrained: string[] = [];
  for (const service of input.outboxServices ?? databaseServices) {
    const [row] = await sql<{ n: string }>(service, 'SELECT count(*)::text AS n FROM outbox WHERE published_at IS NULL');
    if (Number(row?.n) > 0) undrained.push(`${service}: ${row?.n} unpublished`);
  }
  add('outboxes-drained', 'no outbox keeps an unpublished event', undrained);

  let unexplained: string[] | undefined;
  if (input.deadLetters) {
    unexplained = input.deadLetters
      .filter((d) => !input.explainedEventIds?.has(d.eventId))
      .map((d) => `${d.subscription} ${d.eventId}: ${d.error}`);
  }
  add('dead-letters-explained', 'every dead letter is one the run injected on purpose (poison)', unexplained);

  let confirmed = 0;
  const cancelled: Record<string, number> = {};
  for (const o of orders) {
    if (o.status === 'CONFIRMED') confirmed++;
    else if (o.status === 'CANCELLED') cancelled[o.reason ?? '?'] = (cancelled[o.reason ?? '?'] ?? 0) + 1;
  }
  const broken = results.filter((r) => r.violations > 0);
  return {
    ok: broken.length === 0,
    problems: broken.map((r) => `${r.name}: ${r.violations} (${r.examples.join('; ')})`),
    invariants: results,
    orders: orders.length,
    confirmed,
    cancelled,
    open: orders.filter((o) => !terminal(o)).length,
  };
}

/**
 * Checks until every invariant holds or `timeoutMs` passes: after a run, sagas, compensations and
 * outboxes converge rather than hold at the first look. Returns the last report and when it held.
 */
export async function waitForInvariants(
  sql: Sql,
  input: InvariantInput,
  options: {
    readonly timeoutMs: number;
    readonly intervalMs: number;
    /** Runs before each check (e.g. to list the dead letters again). */
    readonly beforeCheck?: () => Promise<void>;
    readonly onCheck?: (report: InvariantReport) => void;
  },
): Promise<{ report: InvariantReport; heldAfterMs: number | undefined }> {
  const started = Date.now();
  for (;;) {
    await options.beforeCheck?.();
    const report = await checkInvariants(sql, input);
    options.onCheck?.(report);
    if (report.ok) return { report, heldAfterMs: Date.now() - started };
    if (Date.now() - started >= options.timeoutMs) return { report, heldAfterMs: undefined };
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
