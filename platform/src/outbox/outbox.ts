import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { context, trace } from '@opentelemetry/api';
import type { Bus, BusMessage } from '../bus/bus.js';
import type { Database, Sql } from '../db/index.js';
import { defaultSubjectPrefix, newEvent, type EventInit } from '../events/index.js';
import type { Logger } from '../log/index.js';
import { injectTraceContext, tracePublish, type MessagingTelemetry } from '../telemetry/index.js';
import { platformInstruments } from '../telemetry/instruments.js';

/**
 * The transactional outbox. `add` writes an event in the caller's transaction, so the event exists
 * exactly when the state change that caused it was committed. The relay publishes pending rows
 * with the event id as the broker's deduplication id, retries with backoff until the bus accepts
 * them, and only then marks them published.
 *
 * The row keeps the trace context of the transaction that wrote it (`traceparent`, `tracestate`,
 * `baggage` in `headers`), so the relay's publish continues that trace however late it runs.
 */
export interface OutboxAddOptions {
  /**
   * Correlation attributes (e.g. `{ 'order.id': id }`): set on the active span, and carried as
   * baggage to the spans of every service that handles this event and what follows from it.
   */
  readonly correlation?: Readonly<Record<string, string>>;
}

/** An event ready for the outbox table: the bus message plus its type name. */
export interface PreparedEvent extends BusMessage {
  readonly eventType: string;
}

export class Outbox {
  constructor(
    private readonly subjectPrefix: string = defaultSubjectPrefix,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async add<Desc extends DescMessage>(
    tx: Sql,
    schema: Desc,
    init: EventInit<Desc>,
    options: OutboxAddOptions = {},
  ): Promise<MessageShape<Desc>> {
    const { message, prepared } = this.prepare(schema, init, options);
    await this.addPrepared(tx, [prepared]);
    return message;
  }

  /**
   * Builds an event now — capturing the caller's trace context — to be written later, possibly
   * together with other callers' events (group commit), by `addPrepared`.
   */
  prepare<Desc extends DescMessage>(
    schema: Desc,
    init: EventInit<Desc>,
    options: OutboxAddOptions = {},
  ): { message: MessageShape<Desc>; prepared: PreparedEvent } {
    if (options.correlation) trace.getActiveSpan()?.setAttributes(options.correlation);
    const traceHeaders = injectTraceContext({}, context.active(), options.correlation);
    const event = newEvent(schema, init, this.clock(), traceHeaders, this.subjectPrefix);
    return { message: event.message, prepared: { ...event.bus, eventType: schema.typeName } };
  }

  /** Writes prepared events with one statement, in the caller's transaction. */
  async addPrepared(tx: Sql, events: readonly PreparedEvent[]): Promise<void> {
    if (events.length === 0) return;
    await tx.query(
      `INSERT INTO outbox (event_id, subject, event_type, payload, headers)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::jsonb[])`,
      [
        events.map((e) => e.id),
        events.map((e) => e.subject),
        events.map((e) => e.eventType),
        events.map((e) => Buffer.from(e.data)),
        events.map((e) => JSON.stringify(e.headers)),
      ],
    );
  }
}

export interface OutboxRelayOptions {
  readonly batchSize: number;
  readonly pollIntervalMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly retentionMs: number;
  readonly cleanupIntervalMs: number;
  /** How long a claimed row is left to the relay that claimed it before another may take it. */
  readonly claimLeaseMs: number;
}

interface PendingRow {
  seq: string;
  event_id: string;
  subject: string;
  payload: Buffer;
  headers: Record<string, string>;
  attempts: number;
  /** Seconds since the row was written, when it was picked up. */
  lag_seconds: number;
}

export class OutboxRelay {
  private running = false;
  private draining: Promise<void> | undefined;
  private wakeAgain = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private listener: { close(): Promise<void> } | undefined;
  private measuring: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly options: OutboxRelayOptions,
    private readonly telemetry?: MessagingTelemetry,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.listener = this.db.listen('outbox', () => this.wake(), this.options.pollIntervalMs);
    this.pollTimer = setInterval(() => {
      this.wake();
      this.measuring ??= this.measureBacklog().finally(() => (this.measuring = undefined));
    }, this.options.pollIntervalMs);
    this.cleanupTimer = setInterval(() => void this.cleanup(), this.options.cleanupIntervalMs);
    this.wake();
  }

  /** Drains now; a wake during a drain schedules one more pass so no row waits for the poll. */
  wake(): void {
    if (!this.running) return;
    if (this.draining) {
      this.wakeAgain = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      }
    });
  }

  /** Publishes until nothing is due. Errors are logged: the next wake or poll retries. */
  private async drain(): Promise<void> {
    try {
      while (this.running && (await this.publishBatch()) === this.options.batchSize) {
        // a full batch means there may be more
      }
    } catch (error) {
      this.log.error({ err: error }, 'outbox relay pass failed');
    }
  }

  /**
   * Claims due rows, publishes them and marks them published: two autocommitted statements, with
   * no transaction held open across the publish (it was four round trips per batch, and the
   * relays' round trips were a third of a saga's). The claim moves a row's next attempt past
   * `claimLeaseMs`, so no other relay (replica) takes it meanwhile; a relay that dies mid-publish
   * leaves its rows to be taken again when the lease runs out, and the broker's duplicate window
   * and the consumers' inboxes absorb a row published twice. Returns how many rows it took.
   */
  async publishBatch(): Promise<number> {
    // SKIP LOCKED: two relays claiming at the same instant split the rows instead of waiting.
    const { rows } = await this.db.query<PendingRow>(
      `UPDATE outbox o
          SET next_attempt_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000)
         FROM (SELECT seq FROM outbox
                WHERE published_at IS NULL AND next_attempt_at <= clock_timestamp()
                ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) due
        WHERE o.seq = due.seq
        RETURNING o.seq, o.event_id, o.subject, o.payload, o.headers, o.attempts,
                  extract(epoch FROM clock_timestamp() - o.created_at)::float8 AS lag_seconds`,
      [this.options.batchSize, this.options.claimLeaseMs],
    );
    if (rows.length === 0) return 0;
    // RETURNING has no order; publish in the order the events were written.
    rows.sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
    const messages: BusMessage[] = rows.map((row) => ({
      subject: row.subject,
      id: row.event_id,
      data: new Uint8Array(row.payload),
      headers: row.headers,
    }));
    const results = await Promise.allSettled(
      messages.map((message, index) =>
        tracePublish(this.telemetry, message, rows[index]?.lag_seconds ?? 0, (traced) =>
          this.bus.publish([traced]),
        ),
      ),
    );
    const published: string[] = [];
    for (const [index, result] of results.entries()) {
      const row = rows[index]!;
      if (result.status === 'fulfilled') {
        published.push(row.seq);
        continue;
      }
      const delay = Math.min(
        this.options.retryMaxMs,
        this.options.retryBaseMs * 2 ** Math.min(row.attempts, 20),
      );
      this.log.warn(
        { err: result.reason, eventId: row.event_id, attempts: row.attempts + 1 },
        'event not published, will retry',
      );
      await this.db.query(
        `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
               next_attempt_at = clock_timestamp() + make_interval(secs => $3::double precision / 1000)
          WHERE seq = $1`,
        [row.seq, String(result.reason), delay],
      );
    }
    if (published.length > 0) {
      await this.db.query(
        'UPDATE outbox SET published_at = clock_timestamp(), attempts = attempts + 1 WHERE seq = ANY($1::bigint[])',
        [published],
      );
    }
    return rows.length;
  }

  /** Samples the number of unpublished rows for the `orderly.outbox.backlog` gauge. */
  private async measureBacklog(): Promise<void> {
    if (!this.telemetry?.telemetry.enabled) return;
    try {
      const { rows } = await this.db.query<{ backlog: number }>(
        'SELECT count(*)::int AS backlog FROM outbox WHERE published_at IS NULL',
      );
      platformInstruments(this.telemetry.telemetry.meter).outboxBacklog.value =
        rows[0]?.backlog ?? 0;
    } catch (error) {
      this.log.warn({ err: error }, 'outbox backlog not measured');
    }
  }

  private async cleanup(): Promise<void> {
    try {
      await this.db.query(
        `DELETE FROM outbox WHERE published_at < clock_timestamp() - make_interval(secs => $1::double precision / 1000)`,
        [this.options.retentionMs],
      );
    } catch (error) {
      this.log.warn({ err: error }, 'outbox cleanup failed');
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    await this.listener?.close();
    await this.draining;
    await this.measuring;
  }
}
