import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { busHeaders, connectNatsBus, type DeadLetter } from '@orderly/platform';
import type { ServiceWithDatabase } from './service-processes.js';

/**
 * What the drill does on the broker itself, over its own connection (never through a proxy):
 * deliver published events again (duplicates, out of order), send poison messages, and list the
 * dead letters. Stream and subject names are the services' defaults: the drill's NATS is its own.
 */
const stream = 'ORDERLY_EVENTS';
const deadLetterStream = 'ORDERLY_DEAD_LETTERS';
const subjectPrefix = 'events';

interface RawMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Record<string, string>;
  /** The broker's deduplication id: a new one, so the broker cannot drop a re-sent event. */
  readonly msgId: string;
}

type Sql = <Row>(service: ServiceWithDatabase, text: string, values?: unknown[]) => Promise<Row[]>;

export class BusInjection {
  /** Event ids of the poison messages sent: their dead letters are explained. */
  readonly poisonIds = new Set<string>();

  constructor(
    private readonly natsUrl: () => string | string[],
    private readonly duplicateWindowMs: number,
    private readonly sql: Sql,
  ) {}

  /** Publishes `count` already-published events again: random ones, or the newest ones newest first. */
  async resend(count: number, pick: 'random' | 'newest-first'): Promise<number> {
    const rows: {
      event_id: string;
      subject: string;
      payload: Buffer;
      headers: Record<string, string>;
      created: string;
    }[] = [];
    for (const service of ['order', 'inventory', 'payment'] as const) {
      rows.push(
        ...(await this.sql<(typeof rows)[number]>(
          service,
          `SELECT event_id::text, subject, payload, headers, created_at::text AS created FROM outbox WHERE published_at IS NOT NULL
            ORDER BY ${pick === 'random' ? 'random()' : 'seq DESC'} LIMIT $1`,
          [count],
        )),
      );
    }
    if (pick === 'random') rows.sort(() => Math.random() - 0.5);
    else rows.sort((a, b) => b.created.localeCompare(a.created));
    const chosen = rows.slice(0, count);
    await this.publish(
      chosen.map((e) => ({
        subject: e.subject,
        data: new Uint8Array(e.payload),
        headers: { ...e.headers, [busHeaders.eventId]: e.event_id },
        msgId: `chaos-resend-${randomUUID()}`,
      })),
    );
    return chosen.length;
  }

  /** Undecodable OrderPlaced events (an over-long varint: no protobuf decoder accepts it). */
  async poison(count: number): Promise<void> {
    const messages = Array.from({ length: count }, () => {
      const id = `chaos-poison-${randomUUID()}`;
      this.poisonIds.add(id);
      return {
        subject: `${subjectPrefix}.order.v1.OrderPlaced`,
        data: new Uint8Array(11).fill(0xff),
        headers: { [busHeaders.eventId]: id, [busHeaders.eventType]: 'order.v1.OrderPlaced' },
        msgId: id,
      };
    });
    await this.publish(messages);
  }

  /** Redrives the dead letters of one subscription, as an operator would; returns how many. */
  async redrive(subscription: string): Promise<number> {
    const bus = await this.connect();
    try {
      const ids = (await bus.listDeadLetters())
        .filter((d) => d.subscription === subscription)
        .map((d) => d.id);
      return ids.length === 0 ? 0 : await bus.redriveDeadLetters(ids);
    } finally {
      await bus.close();
    }
  }

  async deadLetters(): Promise<DeadLetter[]> {
    const bus = await this.connect();
    try {
      return await bus.listDeadLetters();
    } finally {
      await bus.close();
    }
  }

  private connect() {
    return connectNatsBus({
      servers: this.natsUrl(),
      stream,
      deadLetterStream,
      duplicateWindowMs: this.duplicateWindowMs,
      subjects: [`${subjectPrefix}.>`],
      name: 'orderly-chaos',
    });
  }

  private async publish(messages: readonly RawMessage[]): Promise<void> {
    const nc = await connect({ servers: this.natsUrl() });
    try {
      const js = jetstream(nc);
      for (const m of messages) {
        const headers = natsHeaders();
        for (const [key, value] of Object.entries(m.headers)) headers.set(key, value);
        await js.publish(m.subject, m.data, { msgID: m.msgId, headers });
      }
    } finally {
      await nc.close();
    }
  }
}
