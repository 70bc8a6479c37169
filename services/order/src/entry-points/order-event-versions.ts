import { randomUUID } from 'node:crypto';
import { create, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import {
  busHeaders,
  decodeEvent,
  type Flags,
  type Logger,
  type Outbox,
  type PreparedEvent,
  type Sql,
} from '@orderly/platform';
import {
  OrderCancelledSchema as OrderCancelledV1Schema,
  OrderConfirmedSchema as OrderConfirmedV1Schema,
  OrderPlacedSchema as OrderPlacedV1Schema,
  PaymentRequestedSchema as PaymentRequestedV1Schema,
} from '@orderly/order-contract/order_events';
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  PaymentRequestedSchema,
} from '@orderly/order-contract/v2/order_events';

/**
 * The order events in two versions during a contract window (docs/contracts.md). The order service
 * builds every event in version 1 as before; on the way into the outbox each one that has a
 * version 2 is written again as order.v2 — in the same statement and transaction — when the flag
 * `order-events-publish` says so, and the v1 row is left out when it says `v2` only. Both copies
 * carry the same event id (payload `event_id` and the `Orderly-Event-Id` header, which consumers'
 * inboxes key on), while each row has its own outbox id and broker deduplication id, so JetStream
 * keeps both: a consumer that reads both versions in one subscription applies each event once.
 */
export const orderEventsPublishFlag = 'order-events-publish';

export type OrderEventVersion = 'v1' | 'v2';

/** `v1`, `v1,v2` or `v2` as the flag says; anything else (or no flag) publishes v1 only. */
export function parsePublishedVersions(value: string): readonly OrderEventVersion[] {
  const versions = value
    .split(',')
    .map((v) => v.trim())
    .filter((v): v is OrderEventVersion => v === 'v1' || v === 'v2');
  return versions.length > 0 ? [...new Set(versions)] : ['v1'];
}

/** The flag's value, kept current from flag changes so writing an event never waits on it. */
export class PublishedVersions {
  private value: readonly OrderEventVersion[] = ['v1'];
  private readonly stop: (() => void) | undefined;

  constructor(
    private readonly flags: Flags | undefined,
    private readonly log: Logger,
  ) {
    this.stop = flags?.onChange(() => void this.refresh());
  }

  get current(): readonly OrderEventVersion[] {
    return this.value;
  }

  async refresh(): Promise<void> {
    if (!this.flags) return;
    try {
      const next = parsePublishedVersions(await this.flags.string(orderEventsPublishFlag, 'v1'));
      if (next.join() !== this.value.join())
        this.log.info({ versions: next.join(',') }, 'order event versions published');
      this.value = next;
    } catch (error) {
      this.log.warn({ err: error }, 'order-events-publish flag not read, publishing as before');
    }
  }

  close(): void {
    this.stop?.();
  }
}

type Converter = (data: Uint8Array) => { schema: DescMessage; message: MessageShape<DescMessage> };

const money = (amountMinor: bigint, currency: string) => ({ amountMinor, currency });

/** The v2 message of each order.v1 event that has one, built from the v1 payload. */
const toV2: Readonly<Record<string, Converter>> = {
  [OrderPlacedV1Schema.typeName]: (data) => {
    const v1 = decodeEvent(OrderPlacedV1Schema, data);
    return {
      schema: OrderPlacedSchema,
      message: create(OrderPlacedSchema, {
        ...envelopeOf(v1),
        orderId: v1.orderId,
        customerId: v1.customerId,
        currency: v1.currency,
        lines: v1.lines.map(({ sku, quantity }) => ({ sku, quantity })),
      }),
    };
  },
  [PaymentRequestedV1Schema.typeName]: (data) => {
    const v1 = decodeEvent(PaymentRequestedV1Schema, data);
    return {
      schema: PaymentRequestedSchema,
      message: create(PaymentRequestedSchema, {
        ...envelopeOf(v1),
        orderId: v1.orderId,
        customerId: v1.customerId,
        amount: money(v1.amountCents, v1.currency),
        paymentMethod: v1.paymentMethod,
      }),
    };
  },
  [OrderConfirmedV1Schema.typeName]: (data) => {
    const v1 = decodeEvent(OrderConfirmedV1Schema, data);
    return {
      schema: OrderConfirmedSchema,
      message: create(OrderConfirmedSchema, {
        ...envelopeOf(v1),
        orderId: v1.orderId,
        customerId: v1.customerId,
        total: money(v1.totalCents, v1.currency),
        reservationId: v1.reservationId,
        ...(v1.placedAt ? { placedAt: v1.placedAt } : {}),
      }),
    };
  },
  [OrderCancelledV1Schema.typeName]: (data) => {
    const v1 = decodeEvent(OrderCancelledV1Schema, data);
    return {
      schema: OrderCancelledSchema,
      message: create(OrderCancelledSchema, {
        ...envelopeOf(v1),
        orderId: v1.orderId,
        customerId: v1.customerId,
        // The enums have the same numbers in both versions.
        reason: v1.reason.valueOf(),
        reservationId: v1.reservationId,
        ...(v1.placedAt ? { placedAt: v1.placedAt } : {}),
        ...(v1.confirmedAt ? { confirmedAt: v1.confirmedAt } : {}),
      }),
    };
  },
};

function envelopeOf(v1: { eventId: string; occurredAt?: unknown; schemaVersion: number }) {
  return {
    eventId: v1.eventId,
    schemaVersion: v1.schemaVersion,
    ...(v1.occurredAt ? { occurredAt: v1.occurredAt as never } : {}),
  };
}

/** The v2 copy of a v1 event (same event id, own outbox id), or undefined when it has none. */
export function asVersion2(event: PreparedEvent): PreparedEvent | undefined {
  const convert = toV2[event.eventType];
  if (!convert) return undefined;
  const { schema, message } = convert(event.data);
  return {
    subject: event.subject.replace(/order\.v1\./, 'order.v2.'),
    id: randomUUID(),
    data: toBinary(schema, message),
    headers: {
      ...event.headers,
      [busHeaders.eventId]: event.id,
      [busHeaders.eventType]: schema.typeName,
    },
    eventType: schema.typeName,
  };
}

/** The events to write for `events` when `versions` are published. */
export function inPublishedVersions(
  events: readonly PreparedEvent[],
  versions: readonly OrderEventVersion[],
): PreparedEvent[] {
  const v1 = versions.includes('v1');
  const v2 = versions.includes('v2');
  return events.flatMap((event) => {
    const copy = v2 ? asVersion2(event) : undefined;
    if (!copy) return [event];
    return v1 ? [event, copy] : [copy];
  });
}

/**
 * The service's outbox, writing each order event in the versions published now. Everything else
 * (prepare, the relay) is the runtime's outbox itself.
 */
export function versionedOutbox(
  outbox: Outbox,
  versions: () => readonly OrderEventVersion[],
): Outbox {
  const versioned = Object.create(outbox) as Outbox;
  versioned.addPrepared = (tx: Sql, events: readonly PreparedEvent[]) =>
    outbox.addPrepared(tx, inPublishedVersions(events, versions()));
  return versioned;
}
