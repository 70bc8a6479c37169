import { readFileSync } from 'node:fs';
import {
  Database,
  createLogger,
  findAppError,
  loadConfigDocument,
  parseConfigSection,
  platformConfigSchema,
  type PlatformConfig,
} from '@orderly/platform';
import { parseCommand, type CommandIo } from './command-line.js';
import { traceCommand } from './commands.js';

/**
 * `orderly trace <orderId>`: an order's timeline from the services' own data, for when no tracing
 * backend runs. It reads each service's database (order status history, inventory reservation,
 * payment and provider ledger, notification) and, with `--logs file`, the JSON log lines about the
 * order and everything that shares their trace_id. Read-only.
 */
export interface TimelineEntry {
  readonly at: Date;
  readonly service: string;
  readonly what: string;
  readonly traceId?: string;
}

export interface OrderTrace {
  readonly orderId: string;
  readonly status: string | undefined;
  readonly traceIds: string[];
  readonly timeline: TimelineEntry[];
  /** Services whose data could not be read, with why. */
  readonly unavailable: Record<string, string>;
}

type Row = Record<string, unknown>;
type Query = (sql: string, values: unknown[]) => Promise<Row[]>;

const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(text(value)));
/** A column or log field as text (objects as JSON). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return value.toString();
  return value === null || value === undefined ? '' : JSON.stringify(value);
}

/** What each service's data says about the order. */
const sources: Record<string, (orderId: string, query: Query) => Promise<TimelineEntry[]>> = {
  order: async (orderId, query) => {
    const entries: TimelineEntry[] = [];
    const [order] = await query(
      'SELECT customer_id, status, cancellation_reason, total_cents, payment_method, placed_at FROM orders WHERE id::text = $1',
      [orderId],
    );
    if (!order) return entries;
    const lines = await query(
      'SELECT sku, quantity FROM order_lines WHERE order_id::text = $1 ORDER BY line_no',
      [orderId],
    );
    entries.push({
      at: asDate(order.placed_at),
      service: 'order',
      what: `placed by ${text(order.customer_id)}: ${lines.map((l) => `${text(l.quantity)}× ${text(l.sku)}`).join(', ')}`,
    });
    const history = await query(
      'SELECT status, at FROM order_status_history WHERE order_id::text = $1 ORDER BY seq',
      [orderId],
    );
    for (const change of history) {
      const reason =
        change.status === 'CANCELLED' && order.cancellation_reason
          ? ` (${text(order.cancellation_reason)})`
          : '';
      entries.push({
        at: asDate(change.at),
        service: 'order',
        what: `status ${text(change.status)}${reason}`,
      });
    }
    return entries;
  },
  inventory: async (orderId, query) => {
    const rows = await query(
      'SELECT id, status, created_at, settled_at FROM reservations WHERE order_id = $1',
      [orderId],
    );
    return rows.flatMap((r) => [
      { at: asDate(r.created_at), service: 'inventory', what: `reservation ${text(r.id)} created` },
      ...(r.settled_at
        ? [
            {
              at: asDate(r.settled_at),
              service: 'inventory',
              what: `reservation ${text(r.status)}`,
            },
          ]
        : []),
    ]);
  },
  payment: async (orderId, query) => {
    const payments = await query(
      'SELECT status, amount_cents, created_at, updated_at FROM payments WHERE order_id = $1',
      [orderId],
    );
    const ledger = await query(
      'SELECT kind, amount_cents, at FROM provider_ledger WHERE order_id = $1 ORDER BY id',
      [orderId],
    );
    return [
      ...payments.map((p) => ({
        at: asDate(p.updated_at),
        service: 'payment',
        what: `payment ${text(p.status)} (${text(p.amount_cents)} cents)`,
      })),
      ...ledger.map((l) => ({
        at: asDate(l.at),
        service: 'payment',
        what: `provider ${text(l.kind)} ${text(l.amount_cents)} cents`,
      })),
    ];
  },
  notification: async (orderId, query) => {
    const rows = await query('SELECT kind, created_at FROM notifications WHERE order_id = $1', [
      orderId,
    ]);
    return rows.map((n) => ({
      at: asDate(n.created_at),
      service: 'notification',
      what: `customer notified: ${text(n.kind)}`,
    }));
  },
};

/** The server URL, as the running system uses it (embedded mode: the embedded PostgreSQL). */
function postgresUrl(platform: PlatformConfig): string {
  if (platform.bus.kind !== 'memory') return platform.postgres.url;
  const { postgresUser, postgresPassword, postgresPort } = platform.embedded;
  const url = new URL(platform.postgres.url);
  url.username = encodeURIComponent(postgresUser);
  url.password = encodeURIComponent(postgresPassword);
  url.port = String(postgresPort);
  return url.toString();
}

export async function traceOrder(
  platform: PlatformConfig,
  orderId: string,
  logFiles: readonly string[] = [],
): Promise<OrderTrace> {
  const log = createLogger({ service: 'cli', level: 'silent' });
  const timeline: TimelineEntry[] = [];
  const unavailable: Record<string, string> = {};
  let status: string | undefined;
  for (const [service, read] of Object.entries(sources)) {
    const database = (platform.services[service] as { database?: unknown } | undefined)?.database;
    if (typeof database !== 'string') {
      unavailable[service] = 'no database configured';
      continue;
    }
    const db = new Database(
      {
        ...platform.postgres,
        url: postgresUrl(platform),
        poolSize: 1,
        database,
        applicationName: 'orderly-cli',
      },
      log,
    );
    try {
      const entries = await read(
        orderId,
        async (sql, values) => (await db.query<Row>(sql, values)).rows,
      );
      timeline.push(...entries);
      if (service === 'order')
        status = entries
          .filter((e) => e.what.startsWith('status '))
          .at(-1)
          ?.what.slice('status '.length);
    } catch (error) {
      unavailable[service] =
        findAppError(error)?.message ?? (error instanceof Error ? error.message : text(error));
    } finally {
      await db.close();
    }
  }
  const traceIds = new Set<string>();
  for (const file of logFiles)
    timeline.push(...logEntries(readFileSync(file, 'utf8'), orderId, traceIds));
  timeline.sort((a, b) => a.at.getTime() - b.at.getTime());
  return { orderId, status, traceIds: [...traceIds], timeline, unavailable };
}

/** Log lines naming the order, then every line sharing a trace_id with them. */
function logEntries(content: string, orderId: string, traceIds: Set<string>): TimelineEntry[] {
  const records: Row[] = [];
  for (const line of content.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      records.push(JSON.parse(line) as Row);
    } catch {
      // not a log line
    }
  }
  for (const r of records) {
    if ((r.orderId === orderId || r['order.id'] === orderId) && typeof r.trace_id === 'string')
      traceIds.add(r.trace_id);
  }
  return records
    .filter(
      (r) =>
        r.orderId === orderId ||
        r['order.id'] === orderId ||
        (typeof r.trace_id === 'string' && traceIds.has(r.trace_id)),
    )
    .map((r) => ({
      at: asDate(r.time),
      service: `${text(r['service.name'] ?? '?')} log`,
      what: `${text(r.level ?? '')} ${text(r.msg ?? '')}${describeFields(r)}`,
      ...(typeof r.trace_id === 'string' ? { traceId: r.trace_id } : {}),
    }));
}

const shownFields = [
  'status',
  'reason',
  'http.method',
  'http.route',
  'http.status_code',
  'duration_ms',
  'subscription',
  'attempt',
];
function describeFields(record: Row): string {
  const parts = shownFields
    .filter((f) => record[f] !== undefined && record[f] !== null)
    .map((f) => `${f}=${text(record[f])}`);
  return parts.length > 0 ? ` (${parts.join(' ')})` : '';
}

export function formatTrace(trace: OrderTrace): string {
  const out: string[] = [
    `order ${trace.orderId}: ${trace.status ?? 'not found in the order database'}`,
  ];
  if (trace.traceIds.length > 0) out.push(`trace ${trace.traceIds.join(', ')}`);
  const start = trace.timeline[0]?.at.getTime();
  for (const entry of trace.timeline) {
    const offset = start === undefined ? '' : `+${entry.at.getTime() - start} ms`;
    out.push(
      `${entry.at.toISOString()}  ${offset.padStart(10)}  ${entry.service.padEnd(18)} ${entry.what}`,
    );
  }
  for (const [service, why] of Object.entries(trace.unavailable)) out.push(`(${service}: ${why})`);
  return `${out.join('\n')}\n`;
}

/** `orderly trace <orderId> [--logs file ...] [--json]` */
export async function runTraceCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseCommand(traceCommand, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const platform = parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({ argv: args.configArgv }).document,
  );
  const trace = await traceOrder(platform, args.positionals[0]!, args.values.logs);
  io.out(args.values.json ? `${JSON.stringify(trace, null, 2)}\n` : formatTrace(trace));
  return trace.status === undefined ? 1 : 0;
}
