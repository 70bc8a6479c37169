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
 * exactly when the state change that caused it was committed. After COMMIT the rows are handed to
 * this process's relay (`Sql.afterCommit`), which publishes them at once — pipelined, with the
 * event id as the broker's deduplication id — and marks them published only once the bus accepted
 * them. Rows the relay never got to (a crash between commit and publish, a failed publish, another
 * replica's crash) are found by its safety pass and retried with backoff.
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

/** A committed outbox row, handed to the relay in process. */
export interface HandedOffEvent {
  readonly seq: string;
  readonly message: BusMessage;
  /** When it was written (epoch ms), for the publish lag. */
  readonly writtenAt: number;
}

/** Takes committed rows in process: the relay (`OutboxRelay`). */
export interface OutboxHandoff {
  /**
   * Rows written for this handoff are due only after this long (`next_attempt_at`), so the safety
   * passes of every relay leave them to it meanwhile.
   */
  readonly handoffLeaseMs: number;
  /** Called after COMMIT with the rows of one statement, in `seq` order. Must not throw. */
  handoff(events: readonly HandedOffEvent[]): void;
}

/** Unpublished rows of an outbox table, for the operator's debug endpoint. */
export interface OutboxBacklog {
  readonly unpublished: number;
  /** Age of the oldest unpublished row; null when there is none. */
  readonly oldestAgeSeconds: number | null;
}

/** Reads the backlog from the table (the partial index on unpublished rows): one statement. */
export async function readOutboxBacklog(sql: Sql): Promise<OutboxBacklog> {
  const { rows } = await sql.query<{ unpublished: number; oldest_age_seconds: number | null }>(
    `SELECT count(*)::int AS unpublished,
            extract(epoch FROM clock_timestamp() - min(created_at))::float8 AS oldest_age_seconds
       FROM outbox WHERE published_at IS NULL`,
  );
  return {
    unpublished: rows[0]?.unpublished ?? 0,
    oldestAgeSeconds: rows[0]?.oldest_age_seconds ?? null,
  };
}

export class Outbox {
  private relay: OutboxHandoff | undefined;

  constructor(
    private readonly subjectPrefix: string = defaultSubjectPrefix,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Hands rows to `relay` after their transaction commits; `undefined` stops it (rows are then due
   * at once, for whichever relay's safety pass comes first).
   */
  handOffTo(relay: OutboxHandoff | undefined): void {
    this.relay = relay;
  }

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

  /**
   * Writes prepared events with one statement, in the caller's transaction, and hands them to the
   * relay after COMMIT (a rollback hands nothing). With a relay attached (and a transaction that
   * says when it commits), the rows are leased to it for `handoffLeaseMs`; rows written before a
   * relay was attached are due at once, and still handed to it if it is there by the commit.
   */
  async addPrepared(tx: Sql, events: readonly PreparedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const lessee = tx.afterCommit ? this.relay : undefined;
    const writtenAt = Date.now();
    const { rows } = await tx.query<{ seq: string; event_id: string }>(
      `INSERT INTO outbox (event_id, subject, event_type, payload, headers, next_attempt_at)
       SELECT e.event_id, e.subject, e.event_type, e.payload, e.headers,
              clock_timestamp() + make_interval(secs => $6::double precision / 1000)
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::jsonb[])
              AS e(event_id, subject, event_type, payload, headers)
       RETURNING seq, event_id`,
      [
        events.map((e) => e.id),
        events.map((e) => e.subject),
        events.map((e) => e.eventType),
        events.map((e) => Buffer.from(e.data)),
        events.map((e) => JSON.stringify(e.headers)),
        lessee ? lessee.handoffLeaseMs : 0,
      ],
    );
    tx.afterCommit?.(() => {
      const relay = this.relay;
      if (!relay) return;
      const seqs = new Map(rows.map((row) => [row.event_id.toLowerCase(), row.seq]));
      const handed: HandedOffEvent[] = [];
      for (const event of events) {
        const seq = seqs.get(event.id.toLowerCase());
        if (seq === undefined) continue; // cannot happen: RETURNING gives every row
        const { subject, id, data, headers } = event;
        handed.push({ seq, message: { subject, id, data, headers }, writtenAt });
      }
      relay.handoff(handed.sort(bySeq));
    });
  }
}

export interface OutboxRelayOptions {
  /** Rows one safety pass claims at most; a full batch is followed by another pass at once. */
  readonly batchSize: number;
  /**
   * Rows written for this relay are left to it this long (`next_attempt_at`): longer than they can
   * wait in its queue plus a publish. After it, any relay's safety pass may take them.
   */
  readonly handoffLeaseMs: number;
  /** Publishes awaiting the bus's acknowledgement at once. */
  readonly maxInFlight: number;
  /** Handed events held in memory at most; more are left to the safety pass (after their lease). */
  readonly maxQueued: number;
  /**
   * How long acknowledgements gather before they are marked published with one statement (0: at
   * the end of the current turn). The publish itself never waits for it.
   */
  readonly markDelayMs: number;
  /**
   * Longest time between two safety passes when nothing falls due sooner: how late another
   * replica's orphaned rows may be found.
   */
  readonly safetyIntervalMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly retentionMs: number;
  readonly cleanupIntervalMs: number;
  /** How long a row claimed by a safety pass is left to that relay before another may take it. */
  readonly claimLeaseMs: number;
}

/** An event held by the relay until its outcome is written. */
interface RelayEntry {
  readonly seq: string;
  readonly message: BusMessage;
  readonly writtenAt: number;
  /** Attempts recorded so far (for the retry backoff). */
  readonly attempts: number;
  /** Called once the outcome was written (or could not be). */
  readonly settled?: () => void;
}

interface ClaimRow {
  /** Null on the one row a pass returns when it claimed nothing. */
  seq: string | null;
  event_id: string;
  subject: string;
  payload: Buffer;
  headers: Record<string, string>;
  attempts: number;
  /** Seconds since the row was written, when it was claimed. */
  lag_seconds: number;
  /** Until the earliest unpublished row not claimed now falls due; null when there is none. */
  next_due_in_ms: number | null;
  /** Unpublished rows no relay holds (due, or waiting for a retry), when counted. */
  unheld: number;
}

const bySeq = (a: { seq: string }, b: { seq: string }) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1);

/**
 * Publishes outbox rows. The hot path is in memory: `handoff` queues committed rows, up to
 * `maxInFlight` publishes run at once (started in queue order on one connection, so the broker
 * receives them in commit order), and everything acknowledged since the last mark is marked
 * published with one statement, at most `markDelayMs` after the first of them (while a mark runs,
 * further acknowledgements wait for the next).
 * A failed publish is written back with backoff (`attempts`, `last_error`, `next_attempt_at`).
 *
 * The safety pass claims due rows with a lease (`claimLeaseMs`, SKIP LOCKED, so replicas split
 * them), publishes them the same way and learns when the next unpublished row falls due. It runs at
 * start, then at that time — a retry, or a handed row whose lease runs out unpublished — or after
 * `safetyIntervalMs` at the latest: an idle relay sends one statement per `safetyIntervalMs`.
 */
export class OutboxRelay implements OutboxHandoff {
  private running = false;
  private readonly queue: RelayEntry[] = [];
  private queueHead = 0;
  private inFlight = 0;
  /** Seqs of every entry not settled yet (queued, in flight, or waiting for its outcome's write). */
  private readonly held = new Set<string>();
  private pumpScheduled = false;
  private acked: RelayEntry[] = [];
  private failed: { entry: RelayEntry; error: unknown }[] = [];
  private writeScheduled = false;
  private writing: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private overflowLogged = false;

  private passTimer: NodeJS.Timeout | undefined;
  private passAt = Number.POSITIVE_INFINITY;
  private passing: Promise<void> | undefined;
  /** Earliest pass asked for while one was running. */
  private passAgainAt = Number.POSITIVE_INFINITY;
  private lastPassFull = false;
  private passFailures = 0;
  /** Unpublished rows this relay does not hold, as of its last safety pass (backlog gauge). */
  private unheld = 0;
  private cleanupTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly options: OutboxRelayOptions,
    private readonly telemetry?: MessagingTelemetry,
  ) {}

  get handoffLeaseMs(): number {
    return this.options.handoffLeaseMs;
  }

  /** Runs a safety pass now (rows left by an earlier run), and keeps the safety net going. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.cleanupTimer = setInterval(() => void this.cleanup(), this.options.cleanupIntervalMs);
    this.passWithin(0);
  }

  handoff(events: readonly HandedOffEvent[]): void {
    // Stopped: the rows keep their lease, then a relay's safety pass publishes them.
    if (!this.running) return;
    let left = 0;
    for (const event of events) {
      // Written before this relay was attached, and claimed by its start pass meanwhile.
      if (this.held.has(event.seq)) continue;
      if (this.held.size >= this.options.maxQueued) {
        left++;
        continue;
      }
      this.enqueue({ ...event, attempts: 0 });
    }
    if (left > 0) {
      this.unheld += left;
      if (!this.overflowLogged) {
        this.overflowLogged = true;
        this.log.warn(
          { left, maxQueued: this.options.maxQueued },
          'outbox relay queue full: events left to the safety pass',
        );
      }
      this.passWithin(this.options.handoffLeaseMs);
    }
    this.schedulePump();
    this.updateBacklog();
  }

  /**
   * One safety pass: claims due rows (at most `batchSize`), publishes them and waits until their
   * outcome is written. Returns how many rows it claimed.
   */
  async publishDue(): Promise<number> {
    return (await this.claimAndPublish()).claimed;
  }

  private enqueue(entry: RelayEntry): void {
    this.held.add(entry.seq);
    this.queue.push(entry);
  }

  /** Starts publishes after the current turn: the committer's own continuation goes first. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
      this.checkIdle();
    });
  }

  /** Starts queued publishes, in queue order, up to `maxInFlight`. */
  private pump(): void {
    const limit = Math.max(1, this.options.maxInFlight);
    while (this.inFlight < limit && this.queueHead < this.queue.length) {
      const entry = this.queue[this.queueHead++]!;
      this.publish(entry);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
      if (this.held.size < this.options.maxQueued) this.overflowLogged = false;
    } else if (this.queueHead > 1024) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private publish(entry: RelayEntry): void {
    this.inFlight++;
    const lagSeconds = Math.max(0, (Date.now() - entry.writtenAt) / 1000);
    let published: Promise<void>;
    try {
      published = tracePublish(this.telemetry, entry.message, lagSeconds, (traced) =>
        this.bus.publish([traced]),
      );
    } catch (error) {
      published = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    published.then(
      () => {
        this.inFlight--;
        this.acked.push(entry);
        this.scheduleWrite();
        this.pump();
      },
      (error: unknown) => {
        this.inFlight--;
        this.failed.push({ entry, error });
        this.scheduleWrite();
        this.pump();
      },
    );
  }

  /**
   * Writes outcomes `markDelayMs` after the first one arrived (or after the current turn), so
   * acknowledgements that arrive meanwhile share one statement; while a write runs, the next ones
   * gather for the write after it.
   */
  private scheduleWrite(): void {
    if (this.writeScheduled || this.writing) return;
    this.writeScheduled = true;
    const write = () => {
      this.writeScheduled = false;
      this.writing = this.writeOutcomes().finally(() => {
        this.writing = undefined;
        if (this.acked.length > 0 || this.failed.length > 0) this.scheduleWrite();
        else this.checkIdle();
      });
    };
    const delayMs = this.options.markDelayMs;
    if (delayMs > 0) setTimeout(write, delayMs);
    else setImmediate(write);
  }

  private async writeOutcomes(): Promise<void> {
    const acked = this.acked;
    const failed = this.failed;
    this.acked = [];
    this.failed = [];
    await Promise.all([
      acked.length > 0 ? this.markPublished(acked) : undefined,
      failed.length > 0 ? this.scheduleRetries(failed) : undefined,
    ]);
    this.updateBacklog();
  }

  private async markPublished(entries: readonly RelayEntry[]): Promise<void> {
    try {
      await this.db.query(
        'UPDATE outbox SET published_at = clock_timestamp(), attempts = attempts + 1 WHERE seq = ANY($1::bigint[])',
        [entries.map((e) => e.seq)],
      );
    } catch (error) {
      // Published but not marked: the rows keep their lease, after which a safety pass publishes
      // them again (the broker's duplicate window and the consumers' inboxes absorb the repeat).
      this.log.warn({ err: error, events: entries.length }, 'published events not marked');
      this.passWithin(Math.max(this.options.handoffLeaseMs, this.options.claimLeaseMs));
    } finally {
      this.release(entries);
    }
  }

  /** A failed publish goes back to the table with backoff; a safety pass takes it when due. */
  private async scheduleRetries(
    failures: readonly { entry: RelayEntry; error: unknown }[],
  ): Promise<void> {
    const { retryBaseMs, retryMaxMs } = this.options;
    const delays = failures.map(({ entry }) =>
      Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(entry.attempts, 20)),
    );
    this.log.warn(
      {
        err: failures[0]?.error,
        events: failures.length,
        eventIds: failures.slice(0, 10).map(({ entry }) => entry.message.id),
        attempts: failures[0] === undefined ? undefined : failures[0].entry.attempts + 1,
      },
      'events not published, will retry',
    );
    try {
      await this.db.query(
        `UPDATE outbox o
            SET attempts = o.attempts + 1, last_error = f.error,
                next_attempt_at = clock_timestamp() + make_interval(secs => f.delay_ms / 1000)
           FROM unnest($1::bigint[], $2::text[], $3::double precision[]) AS f(seq, error, delay_ms)
          WHERE o.seq = f.seq AND o.published_at IS NULL`,
        [
          failures.map(({ entry }) => entry.seq),
          failures.map(({ error }) => String(error)),
          delays,
        ],
      );
      this.unheld += failures.length;
      this.passWithin(delays.reduce((a, b) => Math.min(a, b)));
    } catch (error) {
      // Their lease runs out instead, and a safety pass takes them then.
      this.log.warn({ err: error, events: failures.length }, 'failed publishes not recorded');
      this.passWithin(Math.max(this.options.handoffLeaseMs, this.options.claimLeaseMs));
    } finally {
      this.release(failures.map(({ entry }) => entry));
    }
  }

  private release(entries: readonly RelayEntry[]): void {
    for (const entry of entries) {
      this.held.delete(entry.seq);
      entry.settled?.();
    }
  }

  /** Makes sure a safety pass runs within `delayMs` (an earlier one already planned stays). */
  private passWithin(delayMs: number): void {
    if (!this.running) return;
    const at = Date.now() + Math.max(0, delayMs);
    if (this.passing) {
      this.passAgainAt = Math.min(this.passAgainAt, at);
      return;
    }
    if (this.passTimer && at >= this.passAt) return;
    if (this.passTimer) clearTimeout(this.passTimer);
    this.passAt = at;
    this.passTimer = setTimeout(
      () => {
        this.passTimer = undefined;
        this.passAt = Number.POSITIVE_INFINITY;
        this.runPass();
      },
      Math.max(0, at - Date.now()),
    );
  }

  private runPass(): void {
    if (!this.running || this.passing) return;
    this.passAgainAt = Number.POSITIVE_INFINITY;
    this.passing = this.safetyPass().then((nextInMs) => {
      this.passing = undefined;
      this.passWithin(Math.min(nextInMs, this.passAgainAt - Date.now()));
    });
  }

  /** Claims and publishes until a batch comes back short; returns when the next pass is due. */
  private async safetyPass(): Promise<number> {
    const { safetyIntervalMs, retryBaseMs, retryMaxMs } = this.options;
    try {
      let pass = await this.claimAndPublish();
      while (this.running && pass.claimed >= this.options.batchSize)
        pass = await this.claimAndPublish();
      this.passFailures = 0;
      if (pass.nextDueInMs === undefined) return safetyIntervalMs;
      // Rows due now that this pass did not claim are being claimed by another relay (SKIP LOCKED):
      // look again a little later.
      const nextInMs = pass.nextDueInMs > 0 ? pass.nextDueInMs : Math.max(retryBaseMs, 10);
      return Math.min(safetyIntervalMs, nextInMs);
    } catch (error) {
      this.passFailures++;
      this.log.error({ err: error }, 'outbox safety pass failed');
      return Math.min(
        safetyIntervalMs,
        retryMaxMs,
        retryBaseMs * 2 ** Math.min(this.passFailures, 20),
      );
    }
  }

  /**
   * One statement: claims due rows (moving their next attempt past `claimLeaseMs`, so no other
   * relay takes them meanwhile; SKIP LOCKED, so two relays claiming at once split them), and says
   * when the earliest other unpublished row falls due. With `count`, also counts the unpublished
   * rows no relay holds (due, or waiting for a retry) for the backlog gauge; without it, that scan
   * is skipped (a one-time filter), as while a large backlog drains batch after batch.
   */
  private async claimAndPublish(): Promise<{ claimed: number; nextDueInMs: number | undefined }> {
    const count = this.backlogGauge() !== undefined && !this.lastPassFull;
    const { rows } = await this.db.query<ClaimRow>(
      `WITH due AS (
         SELECT seq FROM outbox
          WHERE published_at IS NULL AND next_attempt_at <= clock_timestamp()
          ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE outbox o
            SET next_attempt_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000)
           FROM due
          WHERE o.seq = due.seq
         RETURNING o.seq, o.event_id, o.subject, o.payload, o.headers, o.attempts,
                   extract(epoch FROM clock_timestamp() - o.created_at)::float8 AS lag_seconds
       ), upcoming AS (
         SELECT (extract(epoch FROM min(n.next_attempt_at) - clock_timestamp()) * 1000)::float8
                AS next_due_in_ms
           FROM (SELECT next_attempt_at FROM outbox
                  WHERE published_at IS NULL AND seq NOT IN (SELECT seq FROM due)
                  ORDER BY next_attempt_at LIMIT 1) n
       ), unheld AS (
         SELECT count(*)::int AS unheld FROM outbox
          WHERE $3::boolean AND published_at IS NULL AND seq NOT IN (SELECT seq FROM due)
            AND (attempts > 0 OR next_attempt_at <= clock_timestamp())
       )
       SELECT upcoming.next_due_in_ms, unheld.unheld, claimed.*
         FROM upcoming CROSS JOIN unheld LEFT JOIN claimed ON true`,
      [this.options.batchSize, this.options.claimLeaseMs, count],
    );
    const first = rows[0];
    const nextDueInMs = first?.next_due_in_ms ?? undefined;
    const claimed = rows.filter((row): row is ClaimRow & { seq: string } => row.seq !== null);
    this.lastPassFull = claimed.length >= this.options.batchSize;
    this.unheld = count ? (first?.unheld ?? 0) : Math.max(0, this.unheld - claimed.length);
    // RETURNING has no order; publish in the order the events were written.
    claimed.sort(bySeq);
    const settled: Promise<void>[] = [];
    const now = Date.now();
    for (const row of claimed) {
      // Its lease ran out while it still waited in this relay's queue: it is published from there.
      if (this.held.has(row.seq)) continue;
      settled.push(
        new Promise<void>((resolve) =>
          this.enqueue({
            seq: row.seq,
            message: {
              subject: row.subject,
              id: row.event_id,
              data: new Uint8Array(row.payload),
              headers: row.headers,
            },
            writtenAt: now - row.lag_seconds * 1000,
            attempts: row.attempts,
            settled: resolve,
          }),
        ),
      );
    }
    this.pump();
    this.updateBacklog();
    await Promise.all(settled);
    return { claimed: claimed.length, nextDueInMs };
  }

  private backlogGauge(): { value: number | undefined } | undefined {
    if (!this.telemetry?.telemetry.enabled) return undefined;
    return platformInstruments(this.telemetry.telemetry.meter).outboxBacklog;
  }

  /** `orderly.outbox.backlog`: what this relay holds, plus what no relay held at its last pass. */
  private updateBacklog(): void {
    const gauge = this.backlogGauge();
    if (gauge) gauge.value = this.held.size + this.unheld;
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

  private isIdle(): boolean {
    return (
      this.queueHead === this.queue.length &&
      this.inFlight === 0 &&
      this.acked.length === 0 &&
      this.failed.length === 0 &&
      !this.writing &&
      !this.writeScheduled &&
      !this.pumpScheduled
    );
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Stops the safety net, then publishes what it holds and writes the outcomes. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.passTimer) clearTimeout(this.passTimer);
    this.passTimer = undefined;
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    await this.passing;
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
