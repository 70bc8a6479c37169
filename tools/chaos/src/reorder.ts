import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { busHeaders } from '@orderly/platform';
import type { ServiceWithDatabase } from './invariants.js';
import type { Service } from './service-processes.js';
import type { ProxyMode } from './tcp-proxy.js';

/**
 * The `reorder` fault: a consumer gets a later event of an order before an earlier one, for real
 * (not a second copy of an event it already applied). While the consumer's link to NATS is cut, the
 * earlier event is taken off the stream before the consumer could fetch it (held back). Its order
 * then moves on without it: the saga times out and is cancelled, and the consumer applies that
 * cancellation. Only then is the held event published again, with its own event id, so the inbox
 * cannot skip it and the consumer's rules must cope (reserve nothing, charge nothing, ignore it).
 *
 * The saga is a causal chain (each answer follows the request the order itself published), so the
 * cancellation is the one later event that can overtake an earlier one of the same order.
 */
const stream = 'ORDERLY_EVENTS';
const subjectPrefix = 'events';

/** An earlier event, the consumer that must see it late, and how to tell that consumer applied the cancellation. */
export interface ReorderPair {
  readonly eventType: string;
  readonly consumer: Service;
  /**
   * When the consumer also produces what causes the held event (the order service publishes the
   * request inventory or payment answers), its link is cut right after such a cause was stored, so
   * the answer arrives while the consumer cannot fetch it.
   */
  readonly causedBy?: string;
  /** Other answers to the same cause, held back as well (an OrderPlaced may be answered StockRejected). */
  readonly alsoHeld?: readonly string[];
  /** True once `consumer` applied the order's cancellation (the later event). */
  readonly cancellationApplied: (orderId: string, sql: Sql) => Promise<boolean>;
}

type Sql = <Row>(service: ServiceWithDatabase, text: string, values?: unknown[]) => Promise<Row[]>;

const statusOf = async (sql: Sql, service: ServiceWithDatabase, text: string, orderId: string) =>
  (await sql<{ status: string }>(service, text, [orderId]))[0]?.status;
const orderCancelled = async (orderId: string, sql: Sql) =>
  (await statusOf(sql, 'order', 'SELECT status FROM orders WHERE id::text = $1', orderId)) ===
  'CANCELLED';

/** The pairs a drill's reorder steps take in turn. */
export const reorderPairs: readonly ReorderPair[] = [
  {
    // OrderCancelled (a PENDING saga timed out) before OrderPlaced: the tombstone must refuse the late reservation.
    eventType: 'order.v1.OrderPlaced',
    consumer: 'inventory',
    cancellationApplied: async (orderId, sql) =>
      (await orderCancelled(orderId, sql)) &&
      (await statusOf(
        sql,
        'inventory',
        'SELECT status FROM reservations WHERE order_id = $1',
        orderId,
      )) === 'CANCELLED',
  },
  {
    // OrderCancelled before PaymentRequested: the void must refuse the late charge.
    eventType: 'order.v1.PaymentRequested',
    consumer: 'payment',
    cancellationApplied: async (orderId, sql) =>
      (await orderCancelled(orderId, sql)) &&
      (await statusOf(
        sql,
        'payment',
        'SELECT status FROM payments WHERE order_id = $1',
        orderId,
      )) === 'VOIDED',
  },
  {
    // The order's own cancellation before StockReserved: the late answer is ignored, the stock released.
    eventType: 'inventory.v1.StockReserved',
    consumer: 'order',
    causedBy: 'order.v1.OrderPlaced',
    alsoHeld: ['inventory.v1.StockRejected'],
    cancellationApplied: orderCancelled,
  },
  {
    // The order's own cancellation before PaymentSucceeded: the late answer is ignored, the capture refunded.
    eventType: 'payment.v1.PaymentSucceeded',
    consumer: 'order',
    causedBy: 'order.v1.PaymentRequested',
    alsoHeld: ['payment.v1.PaymentFailed'],
    cancellationApplied: orderCancelled,
  },
];

interface Held {
  readonly orderId: string;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Record<string, string>;
}

export interface ReorderOutcome {
  readonly held: number;
  /** Delivered after the consumer had applied the order's cancellation: the later event first. */
  readonly reordered: number;
  /** Released at the bound without the cancellation seen (the consumer had fetched it before the cut). */
  readonly releasedAtBound: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Holds back up to `count` events of `pair.eventType` (cutting the consumer's NATS link for at most
 * `cutMs` while they are taken off the stream) and publishes each again once its order's cancellation
 * was applied by the consumer, or after `boundMs`.
 */
export async function reorderEvents(
  natsUrl: string,
  sql: Sql,
  cut: { setMode(mode: ProxyMode): void },
  pair: ReorderPair,
  options: { readonly count: number; readonly cutMs: number; readonly boundMs: number },
): Promise<ReorderOutcome> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const subjects = new Set(
      [pair.eventType, ...(pair.alsoHeld ?? [])].map((t) => `${subjectPrefix}.${t}`),
    );
    const held: Held[] = [];
    // A consumer that also publishes the cause: a few tries, each cut right after a cause was stored.
    for (let attempt = 0; attempt < (pair.causedBy ? 5 : 1) && held.length === 0; attempt++) {
      let next = (await jsm.streams.info(stream)).state.last_seq + 1;
      if (pair.causedBy)
        next = await waitForCause(jsm, `${subjectPrefix}.${pair.causedBy}`, next, options.cutMs);
      // Refused, not black-holed: a paused connection would still hand over what the server had pushed.
      cut.setMode('refuse');
      try {
        const until = Date.now() + options.cutMs;
        while (held.length < options.count && Date.now() < until) {
          await sleep(50);
          next = await takeOff(jsm, subjects, next, options.count - held.length, held);
        }
      } finally {
        cut.setMode('pass');
      }
      // Let the consumer reconnect before the next try.
      if (held.length === 0 && pair.causedBy) await sleep(2000);
    }
    const js = jetstream(nc);
    const waitingSince = Date.now();
    let reordered = 0;
    let releasedAtBound = 0;
    const pending = new Set(held);
    while (pending.size > 0) {
      const atBound = Date.now() - waitingSince >= options.boundMs;
      for (const h of [...pending]) {
        const applied = await pair.cancellationApplied(h.orderId, sql).catch(() => false);
        if (!applied && !atBound) continue;
        const headers = natsHeaders();
        for (const [key, value] of Object.entries(h.headers)) headers.set(key, value);
        // A new broker message id (the original may still be in the duplicate window), the same event id.
        await js.publish(h.subject, h.data, { msgID: `chaos-reorder-${randomUUID()}`, headers });
        pending.delete(h);
        if (applied) reordered++;
        else releasedAtBound++;
      }
      if (pending.size > 0) await sleep(500);
    }
    return { held: held.length, reordered, releasedAtBound };
  } finally {
    await nc.close();
  }
}

/** Polls (every few ms, for up to `timeoutMs`) until an event of `subject` is stored at or after `from`; returns its sequence. */
async function waitForCause(
  jsm: JetStreamManager,
  subject: string,
  from: number,
  timeoutMs: number,
): Promise<number> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const last = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
    if (last && last.seq >= from) return last.seq;
    await sleep(2);
  }
  return from;
}

/** Deletes the events of `subjects` stored from `from` on (up to `max`); returns the next sequence to look at. */
async function takeOff(
  jsm: JetStreamManager,
  subjects: ReadonlySet<string>,
  from: number,
  max: number,
  held: Held[],
): Promise<number> {
  const last = (await jsm.streams.info(stream)).state.last_seq;
  let seq = from;
  for (; seq <= last && max > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m || !subjects.has(m.subject)) continue;
    const orderId = stringField(m.data, 4);
    const headers: Record<string, string> = {};
    for (const key of m.header?.keys() ?? []) headers[key] = m.header?.get(key) ?? '';
    if (!orderId || !headers[busHeaders.eventId]) continue;
    if (!(await jsm.streams.deleteMessage(stream, seq, false).catch(() => false))) continue;
    held.push({ orderId, subject: m.subject, data: m.data, headers });
    max--;
  }
  return seq;
}

/** The string in protobuf field `field` (every saga event carries `order_id = 4`). */
export function stringField(data: Uint8Array, field: number): string | undefined {
  let i = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; i < data.length && shift < 35; shift += 7) {
      const byte = data[i++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new Error('bad varint');
  };
  try {
    while (i < data.length) {
      const tag = varint();
      const wire = tag & 7;
      if (wire === 0) varint();
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else if (wire === 2) {
        const length = varint();
        if (tag >>> 3 === field) return new TextDecoder().decode(data.subarray(i, i + length));
        i += length;
      } else return undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
