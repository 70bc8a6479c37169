import { readFile } from 'node:fs/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { busHeaders } from '@orderly/platform';
import { servicesWithDatabase, type ServiceWithDatabase } from '@orderly/system';

/**
 * The promises Orderly makes, checked after a run against each service's own database and the
 * simulated payment provider's ledger. Every invariant yields the rows that break it: an empty list
 * means it holds. The end-to-end tests, the benchmark and the chaos drills all use this one module.
 *
 * Each check reads one database at a time (rule 1: no cross-database queries); where a promise spans
 * two services (order ↔ inventory, order ↔ payment) both sides are read and compared here.
 *
 * What a table constraint already guarantees (one order per idempotency key, no negative stock, one
 * notification row or capture per order) is not checked here: such a query can never return a row.
 * The checks look where a constraint cannot: the notification sink's actual output, amounts across
 * two services, lines across two services, dead letters on the broker.
 *
 * An invariant the input did not allow to check FAILS, unless the run waived it with a reason
 * (`waivers`), which the report prints.
 */
export type { ServiceWithDatabase };

export type Sql = <Row = Record<string, unknown>>(
  service: ServiceWithDatabase,
  text: string,
  values?: unknown[],
) => Promise<Row[]>;

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
  readonly deadLetters?: readonly {
    readonly eventId: string;
    readonly subscription: string;
    readonly error: string;
  }[];
  /** Event ids the run injected on purpose (poison messages): their dead letters are explained. */
  readonly explainedEventIds?: ReadonlySet<string>;
  /** Services whose outbox must be drained (default: all with a database). */
  readonly outboxServices?: readonly ServiceWithDatabase[];
  /**
   * The notification service's file sink (`<dataDir>/<services.notification.outputFile>`, JSON
   * lines). A file that does not exist holds no messages.
   */
  readonly notificationOutputFile?: string;
  /**
   * Invariants this run cannot check, each with the reason (printed in every report). Without a
   * waiver an invariant the input does not allow to check fails.
   */
  readonly waivers?: Readonly<Partial<Record<InvariantName, string>>>;
}

export const invariantNames = [
  'no-accepted-order-missing',
  'no-phantom-order',
  'every-order-terminal',
  'only-legal-transitions',
  'stock-conserved',
  'reservation-fate-agrees',
  'confirmed-order-lines-sold',
  'captured-amount-equals-total',
  'confirmed-order-approved-by-risk',
  'risk-rejected-order-holds-nothing',
  'notification-delivered-per-terminal-order',
  'outboxes-drained',
  'dead-letters-explained',
] as const;
export type InvariantName = (typeof invariantNames)[number];

export interface InvariantResult {
  readonly name: InvariantName;
  readonly description: string;
  /** False when the input did not allow the check (e.g. no dead-letter list): a failure unless waived. */
  readonly checked: boolean;
  /** Why the run did not check it: the only way an unchecked invariant passes. */
  readonly waived?: string;
  /** Checked with no violation, or not checked and waived with a reason. */
  readonly passed: boolean;
  readonly violations: number;
  /** A few violating rows, for the report. */
  readonly examples: string[];
}

export interface InvariantReport {
  readonly ok: boolean;
  /** One line per broken or unchecked (unwaived) invariant (what the benchmark prints). */
  readonly problems: string[];
  /** One line per waived invariant, with its reason. */
  readonly waived: string[];
  readonly invariants: InvariantResult[];
  readonly orders: number;
  readonly confirmed: number;
  readonly cancelled: Record<string, number>;
  readonly open: number;
}

const exampleCount = 5;

/** Legal order transitions (services/order/src/domain): anything else in the history is a violation. */
const legalTransitions = new Set([
  '->PENDING',
  'PENDING->STOCK_RESERVED',
  'PENDING->CANCELLED',
  'STOCK_RESERVED->CONFIRMED',
  'STOCK_RESERVED->CANCELLED',
]);
/**
 * Only the customer cancels a confirmed order (CancelOrder, reason CUSTOMER_REQUESTED): its payment
 * is refunded and its units return (services/order/src/domain/customer-cancellation.ts).
 */
const customerCancellationOfConfirmed = 'CONFIRMED->CANCELLED';

interface OrderRow {
  id: string;
  status: string;
  reason: string | null;
  key: string;
  customer: string;
  total: string;
}

export async function checkInvariants(sql: Sql, input: InvariantInput): Promise<InvariantReport> {
  const results: InvariantResult[] = [];
  const add = (name: InvariantName, description: string, violations: string[] | undefined) => {
    const reason = input.waivers?.[name]?.trim();
    const waived = violations === undefined && reason ? reason : undefined;
    results.push({
      name,
      description,
      checked: violations !== undefined,
      ...(waived ? { waived } : {}),
      passed: violations === undefined ? waived !== undefined : violations.length === 0,
      violations: violations?.length ?? 0,
      examples: (violations ?? []).slice(0, exampleCount),
    });
  };

  const orders = await sql<OrderRow>(
    'order',
    `SELECT id::text, status, cancellation_reason AS reason, idempotency_key AS key, customer_id AS customer,
            total_cents::text AS total FROM orders`,
  );
  const orderById = new Map(orders.map((o) => [o.id, o]));
  const terminal = (o: OrderRow) => o.status === 'CONFIRMED' || o.status === 'CANCELLED';

  // Nothing accepted is lost.
  let missing: string[] | undefined;
  if (input.acceptedIds) missing = input.acceptedIds.filter((id) => !orderById.has(id));
  else if (input.acceptedAtLeast !== undefined && orders.length < input.acceptedAtLeast) {
    missing = [
      `${input.acceptedAtLeast} accepted (202) but ${orders.length} in the order database`,
    ];
  } else if (input.acceptedAtLeast !== undefined) missing = [];
  add(
    'no-accepted-order-missing',
    'every order the API accepted (202) is in the order database',
    missing,
  );

  // Nothing appears that nobody asked for.
  let phantoms: string[] | undefined;
  if (input.sentIdempotencyKeys) {
    const sent = new Set(input.sentIdempotencyKeys);
    phantoms = orders.filter((o) => !sent.has(o.key)).map((o) => `${o.id} (key ${o.key})`);
  }
  add('no-phantom-order', 'every order has an idempotency key a client sent', phantoms);

  add(
    'every-order-terminal',
    'every order is CONFIRMED or CANCELLED',
    orders.filter((o) => !terminal(o)).map((o) => `${o.id}:${o.status}`),
  );

  // Read with the orders' status in one statement: a saga moving between two reads is no violation.
  const history = await sql<{
    id: string;
    status: string;
    reason: string | null;
    transitions: string[] | null;
    last: string | null;
  }>(
    'order',
    `SELECT o.id::text, o.status, o.cancellation_reason AS reason, h.transitions, h.last
       FROM orders o LEFT JOIN (
         SELECT order_id, array_agg(coalesce(prev, '') || '->' || status ORDER BY seq) AS transitions,
                (array_agg(status ORDER BY seq DESC))[1] AS last
           FROM (SELECT order_id, seq, status, lag(status) OVER (PARTITION BY order_id ORDER BY seq) AS prev
                   FROM order_status_history) steps
          GROUP BY order_id) h ON h.order_id = o.id`,
  );
  const illegal: string[] = [];
  /** Orders the customer cancelled after their confirmation: sold and paid, then given back. */
  const cancelledAfterConfirmation = new Set<string>();
  for (const h of history) {
    if (!h.transitions || h.last === null) illegal.push(`${h.id}: no history`);
    else if (h.last !== h.status)
      illegal.push(`${h.id}: status ${h.status} but history ends ${h.last}`);
    else
      for (const t of h.transitions) {
        if (legalTransitions.has(t)) continue;
        if (t === customerCancellationOfConfirmed && h.reason === 'CUSTOMER_REQUESTED')
          cancelledAfterConfirmation.add(h.id);
        else illegal.push(`${h.id}: ${t}${h.reason ? ` (${h.reason})` : ''}`);
      }
  }
  add(
    'only-legal-transitions',
    'each order history is a path of the state machine (CONFIRMED → CANCELLED only as CUSTOMER_REQUESTED) and ends in its status',
    illegal,
  );

  // Stock.
  const skus = Object.keys(input.stockAtStart);
  const products = await sql<{ sku: string; available: number; reserved: number; sold: number }>(
    'inventory',
    'SELECT sku, available, reserved, sold FROM products WHERE sku = ANY($1)',
    [skus],
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
    if (p.available + p.reserved + p.sold !== start)
      conservation.push(`${p.sku}: ${p.available}+${p.reserved}+${p.sold} ≠ ${start}`);
    if (p.sold !== (soldBySku.get(p.sku) ?? 0))
      conservation.push(`${p.sku}: sold ${p.sold} ≠ confirmed lines ${soldBySku.get(p.sku) ?? 0}`);
    if (p.reserved !== (heldBySku.get(p.sku) ?? 0))
      conservation.push(
        `${p.sku}: reserved ${p.reserved} ≠ open reservations ${heldBySku.get(p.sku) ?? 0}`,
      );
  }
  for (const sku of skus)
    if (!products.some((p) => p.sku === sku)) conservation.push(`${sku}: product missing`);
  add(
    'stock-conserved',
    'per SKU available + reserved + sold = starting stock; sold = confirmed lines; reserved = open reservations',
    conservation,
  );

  // Order and inventory agree on every reservation's fate.
  const reservations = await sql<{ order_id: string; status: string }>(
    'inventory',
    'SELECT order_id, status FROM reservations',
  );
  const reservationByOrder = new Map(reservations.map((r) => [r.order_id, r.status]));
  const fate: string[] = [];
  for (const order of orders) {
    const r = reservationByOrder.get(order.id);
    if (order.status === 'CONFIRMED' && r !== 'CONFIRMED')
      fate.push(`${order.id}: CONFIRMED but reservation ${r ?? 'absent'}`);
    if (order.status === 'CANCELLED' && (r === 'CONFIRMED' || r === 'RESERVED'))
      fate.push(`${order.id}: CANCELLED but reservation ${r}`);
  }
  for (const r of reservations)
    if (!orderById.has(r.order_id))
      fate.push(`reservation for unknown order ${r.order_id} (${r.status})`);
  add(
    'reservation-fate-agrees',
    'a confirmed order has a confirmed reservation; a cancelled one holds and sells nothing (one cancelled after its confirmation has its reservation RETURNED)',
    fate,
  );

  // Each confirmed order's lines left the shelf: its reservation's lines are its own lines.
  const orderLines = await sql<{ order_id: string; sku: string; quantity: string }>(
    'order',
    `SELECT l.order_id::text, l.sku, sum(l.quantity)::text AS quantity FROM order_lines l JOIN orders o ON o.id = l.order_id
      WHERE o.status = 'CONFIRMED' GROUP BY 1, 2`,
  );
  const reservedLines = await sql<{ order_id: string; sku: string; quantity: string }>(
    'inventory',
    `SELECT r.order_id, l.sku, sum(l.quantity)::text AS quantity FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
      WHERE r.status = 'CONFIRMED' GROUP BY 1, 2`,
  );
  const linesOf = (rows: readonly { order_id: string; sku: string; quantity: string }[]) => {
    const byOrder = new Map<string, Map<string, number>>();
    for (const r of rows) {
      const lines = byOrder.get(r.order_id) ?? new Map<string, number>();
      lines.set(r.sku, Number(r.quantity));
      byOrder.set(r.order_id, lines);
    }
    return byOrder;
  };
  const wanted = linesOf(orderLines);
  const sold = linesOf(reservedLines);
  const describeLines = (lines: Map<string, number> | undefined) =>
    lines
      ? [...lines]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([sku, q]) => `${sku}×${q}`)
          .join(',')
      : 'none';
  const unsold: string[] = [];
  for (const order of orders.filter((o) => o.status === 'CONFIRMED')) {
    const ordered = describeLines(wanted.get(order.id));
    const confirmed = describeLines(sold.get(order.id));
    if (ordered !== confirmed) unsold.push(`${order.id}: ordered ${ordered}, sold ${confirmed}`);
  }
  add(
    'confirmed-order-lines-sold',
    "each confirmed order's lines (sku × quantity) are the lines of its CONFIRMED reservation",
    unsold,
  );

  // Money, against the provider's own ledger: what was captured is what the order costs.
  const ledger = await sql<{ order_id: string; kind: string; amount: string; ref: string }>(
    'payment',
    'SELECT order_id, kind, amount_cents::text AS amount, provider_ref AS ref FROM provider_ledger ORDER BY id',
  );
  const moneyByOrder = new Map<
    string,
    { captured: bigint; refunded: bigint; captureRefs: Set<string>; refundRefs: string[] }
  >();
  for (const l of ledger) {
    const m = moneyByOrder.get(l.order_id) ?? {
      captured: 0n,
      refunded: 0n,
      captureRefs: new Set<string>(),
      refundRefs: [],
    };
    if (l.kind === 'capture') {
      m.captured += BigInt(l.amount);
      m.captureRefs.add(l.ref);
    } else {
      m.refunded += BigInt(l.amount);
      m.refundRefs.push(l.ref);
    }
    moneyByOrder.set(l.order_id, m);
  }
  const money: string[] = [];
  for (const order of orders) {
    const m = moneyByOrder.get(order.id);
    const net = (m?.captured ?? 0n) - (m?.refunded ?? 0n);
    if (
      order.status === 'CONFIRMED' &&
      (net !== BigInt(order.total) || m?.captured !== BigInt(order.total))
    ) {
      money.push(
        `${order.id} CONFIRMED total ${order.total}: captured ${m?.captured ?? 0n}, refunded ${m?.refunded ?? 0n}`,
      );
    }
    if (order.status === 'CANCELLED' && net !== 0n)
      money.push(
        `${order.id} CANCELLED: captured ${m?.captured ?? 0n}, refunded ${m?.refunded ?? 0n}`,
      );
    // Confirmed first: its total was captured (the confirmation says so), then all of it refunded.
    if (
      cancelledAfterConfirmation.has(order.id) &&
      (m?.captured !== BigInt(order.total) || m.refunded !== BigInt(order.total))
    )
      money.push(
        `${order.id} CANCELLED after CONFIRMED, total ${order.total}: captured ${m?.captured ?? 0n}, refunded ${m?.refunded ?? 0n}`,
      );
    for (const ref of m?.refundRefs ?? [])
      if (!m?.captureRefs.has(ref))
        money.push(`${order.id}: refund of ${ref}, not a capture of this order`);
  }
  for (const orderId of moneyByOrder.keys())
    if (!orderById.has(orderId)) money.push(`ledger entries for unknown order ${orderId}`);
  add(
    'captured-amount-equals-total',
    "per the provider's ledger a confirmed order's captures sum to its total with nothing refunded; a cancelled order nets zero (one cancelled after its confirmation: its total captured and refunded); a refund returns a capture of the same order",
    money,
  );

  // The risk step: no order the risk service assessed was paid for unless it was approved (by a
  // rule, the fail policy or an admin), and a rejected order holds no stock and took no money.
  const riskOfOrders = await sql<{ id: string; risk_review: string | null }>(
    'order',
    'SELECT id::text, risk_review FROM orders WHERE risk_review IS NOT NULL',
  );
  const assessments = await sql<{ order_id: string; decision: string; final: string | null }>(
    'risk',
    'SELECT order_id, decision, final_decision AS final FROM assessments',
  );
  const riskDecision = new Map(assessments.map((a) => [a.order_id, a]));
  const assessedOrders = new Set(riskOfOrders.map((o) => o.id));
  const unapproved: string[] = [];
  for (const order of orders.filter((o) => o.status === 'CONFIRMED')) {
    const assessment = riskDecision.get(order.id);
    // An order the risk step never saw (services.order.riskAssessment off when it was reserved)
    // has neither a risk_review nor an assessment.
    if (!assessment && !assessedOrders.has(order.id)) continue;
    if (assessment?.final !== 'APPROVE')
      unapproved.push(
        `${order.id} CONFIRMED: risk ${assessment ? `${assessment.decision} -> ${assessment.final ?? 'undecided'}` : 'never assessed it'}`,
      );
  }
  for (const a of assessments)
    if (!orderById.has(a.order_id)) unapproved.push(`assessment of unknown order ${a.order_id}`);
  add(
    'confirmed-order-approved-by-risk',
    'every confirmed order the risk step saw was approved by a rule, the fail policy or an admin (its final decision is APPROVE)',
    unapproved,
  );
  const rejected: string[] = [];
  for (const order of orders.filter((o) => o.reason === 'RISK_REJECTED')) {
    const assessment = riskDecision.get(order.id);
    if (assessment?.final !== 'REJECT')
      rejected.push(
        `${order.id} RISK_REJECTED but risk's decision is ${assessment?.final ?? 'none'}`,
      );
    const r = reservationByOrder.get(order.id);
    if (r === 'RESERVED' || r === 'CONFIRMED')
      rejected.push(`${order.id} RISK_REJECTED still holds stock (reservation ${r})`);
    const m = moneyByOrder.get(order.id);
    if (m && m.captured > 0n)
      rejected.push(`${order.id} RISK_REJECTED was charged ${m.captured} (refunded ${m.refunded})`);
  }
  add(
    'risk-rejected-order-holds-nothing',
    'an order cancelled as RISK_REJECTED was rejected by risk, holds no reserved or sold stock and was never charged',
    rejected,
  );

  // What the customer actually received: the sink's output, not the service's own bookkeeping.
  let delivered: string[] | undefined;
  if (input.notificationOutputFile !== undefined) {
    delivered = [];
    const rows = await sql<{ order_id: string; notification_id: string }>(
      'notification',
      'SELECT order_id, notification_id::text FROM notifications',
    );
    const recordedId = new Map(rows.map((r) => [r.order_id, r.notification_id]));
    const messages = new Map<string, SinkMessage[]>();
    const text = await readFile(input.notificationOutputFile, 'utf8').catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      },
    );
    for (const [n, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue;
      const message = parseSinkLine(line);
      if (!message) {
        delivered.push(`line ${n + 1} of the sink is not a message: ${line.slice(0, 80)}`);
        continue;
      }
      messages.set(message.orderId, [...(messages.get(message.orderId) ?? []), message]);
    }
    for (const order of orders.filter(terminal)) {
      // One message per order, of the first terminal event notification saw: for an order its
      // customer cancelled after the confirmation, that is either (they travel on two streams).
      const expected = cancelledAfterConfirmation.has(order.id)
        ? ['ORDER_CONFIRMED', 'ORDER_CANCELLED']
        : [order.status === 'CONFIRMED' ? 'ORDER_CONFIRMED' : 'ORDER_CANCELLED'];
      const received = messages.get(order.id) ?? [];
      if (received.length === 0) {
        delivered.push(`${order.id} ${order.status}: no message delivered`);
        continue;
      }
      const kinds = new Set(received.map((m) => m.kind));
      const ids = new Set(received.map((m) => m.notificationId));
      if (kinds.size !== 1 || !expected.some((kind) => kinds.has(kind)))
        delivered.push(`${order.id} ${order.status}: delivered ${[...kinds].join('+')}`);
      if (ids.size !== 1)
        delivered.push(
          `${order.id}: ${received.length} messages with ${ids.size} notification ids (a repeat must carry the same id)`,
        );
      if (received.some((m) => m.customerId !== order.customer))
        delivered.push(`${order.id}: message to another customer than ${order.customer}`);
      const recorded = recordedId.get(order.id);
      if (recorded === undefined) delivered.push(`${order.id}: delivered but never recorded`);
      else if (!ids.has(recorded) || ids.size !== 1)
        delivered.push(`${order.id}: delivered id ${[...ids].join('+')} ≠ recorded ${recorded}`);
    }
    for (const [orderId, received] of messages) {
      const order = orderById.get(orderId);
      if (!order || !terminal(order))
        delivered.push(
          `${received.length} message(s) for ${order ? order.status : 'unknown'} order ${orderId}`,
        );
    }
  }
  add(
    'notification-delivered-per-terminal-order',
    "the notification sink's output holds each terminal order's message, of its outcome (for an order cancelled after its confirmation: of either), to its customer; repeats carry the recorded notification id",
    delivered,
  );

  const undrained: string[] = [];
  for (const service of input.outboxServices ?? servicesWithDatabase) {
    const [row] = await sql<{ n: string }>(
      service,
      'SELECT count(*)::text AS n FROM outbox WHERE published_at IS NULL',
    );
    if (Number(row?.n) > 0) undrained.push(`${service}: ${row?.n} unpublished`);
  }
  add('outboxes-drained', 'no outbox keeps an unpublished event', undrained);

  let unexplained: string[] | undefined;
  if (input.deadLetters) {
    unexplained = input.deadLetters
      .filter((d) => !input.explainedEventIds?.has(d.eventId))
      .map((d) => `${d.subscription} ${d.eventId}: ${d.error}`);
  }
  add(
    'dead-letters-explained',
    'every dead letter is one the run injected on purpose (poison)',
    unexplained,
  );

  let confirmed = 0;
  const cancelled: Record<string, number> = {};
  for (const o of orders) {
    if (o.status === 'CONFIRMED') confirmed++;
    else if (o.status === 'CANCELLED')
      cancelled[o.reason ?? '?'] = (cancelled[o.reason ?? '?'] ?? 0) + 1;
  }
  const broken = results.filter((r) => !r.passed);
  return {
    ok: broken.length === 0,
    problems: broken.map((r) =>
      r.checked
        ? `${r.name}: ${r.violations} (${r.examples.join('; ')})`
        : `${r.name}: not checked (the run gave no input for it and no waiver)`,
    ),
    waived: results
      .filter((r) => r.waived !== undefined)
      .map((r) => `${r.name}: waived (${r.waived})`),
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
    // An unchecked invariant stays unchecked: waiting cannot make it hold.
    if (report.invariants.some((i) => !i.checked && !i.passed))
      return { report, heldAfterMs: undefined };
    if (Date.now() - started >= options.timeoutMs) return { report, heldAfterMs: undefined };
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

/** One line of the notification sink, as the file sender writes it (services/notification). */
interface SinkMessage {
  readonly notificationId: string;
  readonly orderId: string;
  readonly customerId: string;
  readonly kind: string;
}

function parseSinkLine(line: string): SinkMessage | undefined {
  try {
    const m = JSON.parse(line) as Partial<Record<keyof SinkMessage, unknown>>;
    const fields = [m.notificationId, m.orderId, m.customerId, m.kind];
    return fields.every((f) => typeof f === 'string' && f !== '') ? (m as SinkMessage) : undefined;
  } catch {
    return undefined;
  }
}

/** A dead letter as the invariants need it. */
export interface DeadLetterSummary {
  readonly eventId: string;
  readonly subscription: string;
  readonly error: string;
}

/**
 * Reads the dead letters straight from the JetStream dead-letter stream (read only: nothing is
 * created, changed or deleted), so a checker needs neither a service's admin endpoint nor its
 * operator credentials.
 */
export async function readDeadLetterStream(
  servers: string,
  stream: string,
): Promise<DeadLetterSummary[]> {
  const nc = await connect({ servers });
  try {
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(stream);
    const found: DeadLetterSummary[] = [];
    if (state.messages === 0) return found;
    const batch = 64;
    for (let from = state.first_seq; from <= state.last_seq; from += batch) {
      const seqs = Array.from(
        { length: Math.min(batch, state.last_seq - from + 1) },
        (_, i) => from + i,
      );
      // null for a sequence deleted by a redrive.
      const stored = await Promise.all(seqs.map((seq) => jsm.streams.getMessage(stream, { seq })));
      for (const m of stored) {
        if (m === null) continue;
        found.push({
          eventId: m.header?.get(busHeaders.eventId) ?? '',
          subscription: m.header?.get(busHeaders.deadLetterSubscription) ?? '',
          error: m.header?.get(busHeaders.deadLetterError) ?? '',
        });
      }
    }
    return found;
  } finally {
    await nc.close();
  }
}
