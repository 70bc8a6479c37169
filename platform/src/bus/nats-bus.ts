import { createHash } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StoredMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import {
  connect,
  headers as natsHeaders,
  nanos,
  type MsgHdrs,
  type NatsConnection,
} from '@nats-io/transport-node';
import {
  backoffFor,
  busHeaders,
  dependencyBackoffMs,
  isDependencyOutage,
  isPermanentFailure,
  type Bus,
  type BusDiagnostics,
  type BusMessage,
  type ConsumerLag,
  type DeadLetter,
  type Delivery,
  type DeliveryHandler,
  type Subscription,
  type SubscriptionOptions,
} from './bus.js';
import { defaultDeadLetterSubjectPrefix, defaultEventSubjects } from './bus-subjects.js';

export interface NatsBusOptions {
  readonly servers: string | string[];
  /** The stream that stores the events. Created, or updated to this configuration. */
  readonly stream: string;
  /** The stream that stores dead letters. Created, or updated to this configuration. */
  readonly deadLetterStream: string;
  /** JetStream drops a message whose id it has seen within this window. */
  readonly duplicateWindowMs: number;
  /**
   * Copies of each stream (JetStream `num_replicas`, default 1). On a cluster, 3: a publish is
   * acknowledged once a majority of the stream's servers stored it, so losing one loses nothing.
   */
  readonly streamReplicas?: number;
  /**
   * How long one pull request of a consumer waits on the server (default 30000, the client's). The
   * client re-pulls after two missed heartbeats (half of this each), so it bounds how long a
   * subscription stays deaf after the node leading its consumer dies or is cut off.
   */
  readonly pullExpiresMs?: number;
  readonly connectTimeoutMs?: number;
  /** Client name shown by the server (e.g. `orderly-order`). */
  readonly name?: string;
  /**
   * Subjects the events stream captures (default `['events.>']`); publishing a subject outside
   * them fails. Tests use their own so their streams do not overlap a real one.
   */
  readonly subjects?: readonly string[];
  /** Dead letters go to `<prefix>.<subscription>` (default `deadletter`). */
  readonly deadLetterSubjectPrefix?: string;
}

/** How many dead letters are read from the stream at once. */
const deadLetterReadBatch = 64;

/**
 * Connects the bus to NATS JetStream (a 2.9 server suffices).
 *
 * - Events live in one file-backed stream whose duplicate window drops repeated message ids.
 * - Each subscription is one durable pull consumer per subject (2.9 has only a singular
 *   `filter_subject`), so processes with the same subscription name compete for deliveries.
 * - We dead-letter ourselves (`max_deliver: -1`): after `maxDeliver` failed attempts, or at
 *   once for a permanent failure, the message is copied to the dead-letter stream with its
 *   error and terminated in the events stream. Attempts are counted by the subscription, not
 *   read from JetStream's delivery count: that count also grows with every redelivery during a
 *   dependency outage (naks, ack waits running out), which must never dead-letter a message.
 */
export async function connectNatsBus(options: NatsBusOptions): Promise<Bus> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.servers,
      ...(options.connectTimeoutMs !== undefined ? { timeout: options.connectTimeoutMs } : {}),
      ...(options.name !== undefined ? { name: options.name } : {}),
      // A service outlives broker restarts: keep reconnecting instead of closing after a few tries.
      maxReconnectAttempts: -1,
    });
  } catch (cause) {
    throw new Error(`cannot connect to NATS at ${String(options.servers)}`, { cause });
  }
  try {
    const jsm = await jetstreamManager(nc);
    const deadLetterPrefix = options.deadLetterSubjectPrefix ?? defaultDeadLetterSubjectPrefix;
    const replicas = options.streamReplicas ?? 1;
    await ensureStream(
      jsm,
      options.stream,
      options.subjects ?? defaultEventSubjects,
      options.duplicateWindowMs,
      replicas,
    );
    await ensureStream(
      jsm,
      options.deadLetterStream,
      [`${deadLetterPrefix}.>`],
      options.duplicateWindowMs,
      replicas,
    );
    return new NatsBus(nc, jsm, jetstream(nc), options, deadLetterPrefix);
  } catch (err) {
    await nc.close();
    throw err;
  }
}

class NatsBus implements Bus {
  private readonly subscriptions = new Set<NatsSubscription>();
  /** Follows the connection's status events; `closed` and `draining` are read from the connection. */
  private connectionState: 'connected' | 'reconnecting' = 'connected';

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly options: NatsBusOptions,
    private readonly deadLetterPrefix: string,
  ) {
    void this.followStatus();
  }

  private async followStatus(): Promise<void> {
    try {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnecting')
          this.connectionState = 'reconnecting';
        else if (status.type === 'reconnect') this.connectionState = 'connected';
      }
    } catch {
      // The iterator ends with the connection; nothing to report after that.
    }
  }

  async publish(messages: readonly BusMessage[]): Promise<void> {
    // All at once: the acks come back pipelined on one connection, not one round trip each.
    const results = await Promise.allSettled(
      messages.map((m) =>
        this.js.publish(m.subject, m.data, {
          msgID: m.id,
          // An event id the publisher set wins (one logical event in two versions keeps one id).
          headers: toNatsHeaders({ [busHeaders.eventId]: m.id, ...m.headers }),
        }),
      ),
    );
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) {
      throw new Error(
        `${failures.length} of ${messages.length} messages were not accepted by JetStream`,
        {
          cause: failures[0]?.reason,
        },
      );
    }
  }

  async subscribe(options: SubscriptionOptions, handler: DeliveryHandler): Promise<Subscription> {
    const consumers = options.subjects.map((subject) => ({
      subject,
      durable: durableName(options.name, subject),
    }));
    for (const { subject, durable } of consumers) {
      await ensureConsumer(this.jsm, this.options.stream, durable, subject, options.ackWaitMs);
    }
    const subscription = new NatsSubscription(options, handler, {
      deadLetter: (m, delivery, error) => this.deadLetter(m, delivery, error),
      flush: () => this.nc.flush(),
      forget: (s) => this.subscriptions.delete(s),
    });
    for (const { durable } of consumers) {
      subscription.consume(
        () => this.js.consumers.get(this.options.stream, durable),
        this.options.pullExpiresMs,
      );
    }
    this.subscriptions.add(subscription);
    return subscription;
  }

  async listDeadLetters(): Promise<DeadLetter[]> {
    const stored = await this.readDeadLetterStream();
    return stored.map(toDeadLetter);
  }

  async redriveDeadLetters(ids?: readonly string[]): Promise<number> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    const targets = (await this.listDeadLetters()).filter(
      (d) => wanted === undefined || wanted.has(d.id),
    );
    const results = await Promise.allSettled(
      targets.map(async (d) => {
        // A new message id, or the duplicate window would drop it as the original; the event id
        // header stays, so subscriptions that already applied the event ignore it in their inbox.
        await this.js.publish(d.subject, d.data, {
          msgID: `redrive:${d.eventId}:${d.id}`,
          headers: toNatsHeaders(d.headers),
        });
        await this.jsm.streams.deleteMessage(this.options.deadLetterStream, Number(d.id));
      }),
    );
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) {
      throw new Error(`${failures.length} of ${targets.length} dead letters were not redriven`, {
        cause: failures[0]?.reason,
      });
    }
    return targets.length;
  }

  async diagnostics(subscriptions: readonly string[]): Promise<BusDiagnostics> {
    const connection = this.nc.isClosed()
      ? 'closed'
      : this.nc.isDraining()
        ? 'draining'
        : this.connectionState;
    const base = { kind: 'nats', connection, server: this.nc.getServer() } as const;
    if (connection === 'closed') return { ...base, consumers: [], deadLetters: 0 };
    const active = [...this.subscriptions];
    const consumers = await Promise.all(
      subscriptions.flatMap((name) => {
        const subscription = active.find((s) => s.name === name);
        return subscription ? [this.lagOf(subscription)] : [];
      }),
    );
    return { ...base, consumers, deadLetters: await this.countDeadLetters(subscriptions) };
  }

  /** What the durable consumers of one subscription (one per subject) have not delivered or not had acked. */
  private async lagOf(subscription: NatsSubscription): Promise<ConsumerLag> {
    const infos = await Promise.all(
      subscription.subjects.map((subject) =>
        this.jsm.consumers.info(this.options.stream, durableName(subscription.name, subject)),
      ),
    );
    return {
      subscription: subscription.name,
      pending: infos.reduce((sum, info) => sum + info.num_pending, 0),
      inFlight: infos.reduce((sum, info) => sum + info.num_ack_pending, 0),
    };
  }

  /** Dead letters of these subscriptions: the per-subject counts of the dead-letter stream. */
  private async countDeadLetters(subscriptions: readonly string[]): Promise<number> {
    if (subscriptions.length === 0) return 0;
    const { state } = await this.jsm.streams.info(this.options.deadLetterStream, {
      subjects_filter: `${this.deadLetterPrefix}.>`,
    });
    return subscriptions.reduce(
      (sum, name) =>
        sum + (state.subjects?.[`${this.deadLetterPrefix}.${subjectToken(name)}`] ?? 0),
      0,
    );
  }

  async ping(): Promise<void> {
    // A JetStream API round trip, so a server without JetStream is not reported ready.
    await this.jsm.getAccountInfo();
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    if (!this.nc.isClosed()) await this.nc.drain();
  }

  private async deadLetter(m: JsMsg, delivery: Delivery, error: unknown): Promise<void> {
    const headers: Record<string, string> = {
      ...delivery.headers,
      [busHeaders.deadLetterError]: oneLine(errorMessage(error)),
      [busHeaders.deadLetterSubscription]: delivery.subscription,
      [busHeaders.deadLetterSubject]: m.subject,
      [busHeaders.deadLetterAttempts]: String(delivery.attempt),
      [busHeaders.deadLetterAt]: new Date().toISOString(),
    };
    await this.js.publish(
      `${this.deadLetterPrefix}.${subjectToken(delivery.subscription)}`,
      m.data,
      {
        // If the original is redelivered before its term() lands, this attempt is not stored twice.
        msgID: `dead:${delivery.subscription}:${delivery.id}:${m.info.deliveryCount}`,
        headers: toNatsHeaders(headers),
      },
    );
  }

  private async readDeadLetterStream(): Promise<StoredMsg[]> {
    const { state } = await this.jsm.streams.info(this.options.deadLetterStream);
    if (state.messages === 0) return [];
    const found: StoredMsg[] = [];
    for (let from = state.first_seq; from <= state.last_seq; from += deadLetterReadBatch) {
      const to = Math.min(from + deadLetterReadBatch - 1, state.last_seq);
      const batch = await Promise.all(
        Array.from({ length: to - from + 1 }, (_, i) =>
          // null for a sequence deleted by an earlier redrive.
          this.jsm.streams.getMessage(this.options.deadLetterStream, { seq: from + i }),
        ),
      );
      for (const m of batch) if (m !== null) found.push(m);
    }
    return found;
  }
}

interface SubscriptionHost {
  deadLetter(m: JsMsg, delivery: Delivery, error: unknown): Promise<void>;
  flush(): Promise<void>;
  forget(subscription: NatsSubscription): void;
}

class NatsSubscription implements Subscription {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly loops = new Set<Promise<void>>();
  private readonly feeds = new Set<ConsumerMessages>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private stopping = false;
  /** While a dependency is down, no new delivery starts before this time (ms since epoch). */
  private pausedUntil = 0;
  private dependencyFailures = 0;
  /**
   * Failed attempts that count against `maxDeliver`, by stream sequence, with when the last one
   * failed. An entry leaves when its message is acked or dead-lettered here, or when it has not
   * come back for longer than a redelivery takes (another process took it); forgetting only ever
   * gives a message more attempts, never fewer.
   */
  private readonly ownFailures = new Map<number, { count: number; at: number }>();
  private lastSweep = Date.now();

  constructor(
    private readonly options: SubscriptionOptions,
    private readonly handler: DeliveryHandler,
    private readonly host: SubscriptionHost,
  ) {}

  get name(): string {
    return this.options.name;
  }

  get subjects(): readonly string[] {
    return this.options.subjects;
  }

  /** Pulls from one durable consumer until stopped, restarting the pull if it fails. */
  consume(
    open: () => ReturnType<JetStreamClient['consumers']['get']>,
    expiresMs: number | undefined,
  ): void {
    const loop = (async () => {
      try {
        const consumer = await open();
        // Bounded so that no more than about `concurrency` messages wait here with their ack
        // wait running; the client pulls more only as the loop below takes them.
        const feed = await consumer.consume({
          max_messages: this.concurrency,
          ...(expiresMs !== undefined ? { expires: expiresMs } : {}),
        });
        this.feeds.add(feed);
        // Not awaited: closing completes only as the loop below drains what was buffered.
        if (this.stopping) void feed.close();
        for await (const m of feed) {
          if (!this.stopping) await this.waitForSlot(m);
          // Handed back at once, so another process (or this one after a restart) takes it.
          if (this.stopping) m.nak();
          else this.start(m);
        }
        this.feeds.delete(feed);
      } catch {
        if (!this.stopping) {
          const timer = setTimeout(
            () => {
              this.restartTimers.delete(timer);
              if (!this.stopping) this.consume(open, expiresMs);
              // A failed consume loop (permissions, the connection closing under it) starts again after
              // the subscription's first redelivery delay rather than leaving it silently deaf.
            },
            backoffFor(this.options.retryBackoffMs, 1),
          );
          this.restartTimers.add(timer);
        }
      }
    })();
    this.loops.add(loop);
    void loop.finally(() => this.loops.delete(loop));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.restartTimers) clearTimeout(timer);
    await Promise.all([...this.feeds].map((f) => f.close()));
    while (this.loops.size > 0) await Promise.all(this.loops);
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    // Acks are written to the connection asynchronously; make sure they left before returning.
    await this.host.flush().catch(() => undefined);
    this.host.forget(this);
  }

  private get concurrency(): number {
    return Math.max(1, this.options.concurrency);
  }

  private async waitForSlot(m: JsMsg): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    let touchedAt = Date.now();
    while (!this.stopping && Date.now() < this.pausedUntil) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(this.pausedUntil - Date.now(), 250)),
      );
      // Held back by an outage, not slow: keep the broker from redelivering it meanwhile.
      if (Date.now() - touchedAt >= this.options.ackWaitMs / 2) {
        m.working();
        touchedAt = Date.now();
      }
    }
  }

  /**
   * A dependency (database, broker) is unreachable: retrying at once only spins. Pause the whole
   * subscription with exponential backoff and jitter between the first and last redelivery delays,
   * and never dead-letter the message for it (the outage is not the message's fault).
   */
  private backOffForDependency(): number {
    this.dependencyFailures++;
    const delay = dependencyBackoffMs(this.options.retryBackoffMs, this.dependencyFailures);
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + delay);
    return delay;
  }

  private countFailure(seq: number, count: number): void {
    const now = Date.now();
    this.ownFailures.set(seq, { count, at: now });
    // A nak'd message comes back within its delay and an ack wait, unless another process took it.
    const staleAfterMs =
      this.options.ackWaitMs + backoffFor(this.options.retryBackoffMs, this.options.maxDeliver);
    if (now - this.lastSweep < staleAfterMs) return;
    this.lastSweep = now;
    for (const [key, entry] of this.ownFailures)
      if (now - entry.at > staleAfterMs) this.ownFailures.delete(key);
  }

  private start(m: JsMsg): void {
    const task = this.settle(m).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /** Never rejects: every outcome becomes an ack, a nak or a dead letter. */
  private async settle(m: JsMsg): Promise<void> {
    const delivery = toDelivery(
      m,
      this.options.name,
      (this.ownFailures.get(m.seq)?.count ?? 0) + 1,
    );
    let failure: { error: unknown } | undefined;
    try {
      await this.handler(delivery);
    } catch (error) {
      failure = { error };
    }
    try {
      if (failure === undefined) {
        this.dependencyFailures = 0;
        this.ownFailures.delete(m.seq);
        m.ack();
        return;
      }
      if (isDependencyOutage(failure.error)) {
        m.nak(this.backOffForDependency());
        return;
      }
      const attempt = delivery.attempt;
      const retryInMs = backoffFor(this.options.retryBackoffMs, attempt);
      if (!isPermanentFailure(failure.error) && attempt < this.options.maxDeliver) {
        this.countFailure(m.seq, attempt);
        m.nak(retryInMs);
        return;
      }
      try {
        await this.host.deadLetter(m, delivery, failure.error);
      } catch {
        // Not stored as a dead letter: leave it in the stream and try again later.
        m.nak(retryInMs);
        return;
      }
      this.ownFailures.delete(m.seq);
      m.term();
    } catch {
      // The connection is gone, so the server never hears from us: it redelivers after ack wait.
    }
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  subjects: readonly string[],
  duplicateWindowMs: number,
  replicas: number,
): Promise<void> {
  const config = {
    subjects: [...subjects],
    storage: StorageType.File,
    duplicate_window: nanos(duplicateWindowMs),
    num_replicas: replicas,
  };
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(name)).config;
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    await jsm.streams.add({ name, ...config });
    return;
  }
  // Only when something changed, so services starting together do not all rewrite it.
  // Storage cannot change on an existing stream; it stays as created.
  const currentSubjects = current.subjects ?? [];
  const sameSubjects =
    currentSubjects.length === config.subjects.length &&
    config.subjects.every((s) => currentSubjects.includes(s));
  if (
    sameSubjects &&
    current.duplicate_window === config.duplicate_window &&
    current.num_replicas === config.num_replicas
  )
    return;
  // A clustered server moves the stream to more (or fewer) peers; a single server refuses more than 1.
  await jsm.streams.update(name, {
    subjects: config.subjects,
    duplicate_window: config.duplicate_window,
    num_replicas: config.num_replicas,
  });
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  subject: string,
  ackWaitMs: number,
): Promise<void> {
  const ackWait = nanos(ackWaitMs);
  try {
    const info = await jsm.consumers.info(stream, durable);
    if (info.config.ack_wait !== ackWait)
      await jsm.consumers.update(stream, durable, { ack_wait: ackWait });
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    await jsm.consumers.add(stream, {
      durable_name: durable,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      ack_wait: ackWait,
      max_deliver: -1,
      deliver_policy: DeliverPolicy.All,
    });
  }
}

/**
 * The durable consumer name of one subject of a subscription. Names cannot contain `.`, `*`
 * or `>`, so those become `_`; a hash of the exact pair keeps e.g. `a.b` and `a_b` apart.
 */
export function durableName(subscription: string, subject: string): string {
  const hash = createHash('sha256')
    .update(`${subscription}\n${subject}`)
    .digest('hex')
    .slice(0, 10);
  const readable = `${subscription}__${subject}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 120);
  return `${readable}_${hash}`;
}

function subjectToken(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_');
}

function toDelivery(m: JsMsg, subscription: string, attempt: number): Delivery {
  const headers = fromNatsHeaders(m.headers);
  return {
    subject: m.subject,
    id: headers[busHeaders.eventId] ?? m.headers?.get('Nats-Msg-Id') ?? '',
    data: m.data,
    headers,
    attempt,
    subscription,
  };
}

function toDeadLetter(m: StoredMsg): DeadLetter {
  const all = fromNatsHeaders(m.header);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) {
    if (!deadLetterHeaderNames.has(key)) headers[key] = value;
  }
  return {
    id: String(m.seq),
    subscription: all[busHeaders.deadLetterSubscription] ?? '',
    subject: all[busHeaders.deadLetterSubject] ?? '',
    eventId: all[busHeaders.eventId] ?? '',
    error: all[busHeaders.deadLetterError] ?? '',
    attempts: Number(all[busHeaders.deadLetterAttempts] ?? 0),
    failedAt: new Date(all[busHeaders.deadLetterAt] ?? m.time.toISOString()),
    headers,
    data: m.data,
  };
}

const deadLetterHeaderNames = new Set<string>([
  busHeaders.deadLetterError,
  busHeaders.deadLetterSubscription,
  busHeaders.deadLetterSubject,
  busHeaders.deadLetterAttempts,
  busHeaders.deadLetterAt,
]);

function toNatsHeaders(values: Readonly<Record<string, string>>): MsgHdrs {
  const h = natsHeaders();
  for (const [key, value] of Object.entries(values)) h.set(key, value);
  return h;
}

/** Our headers, without the ones the server adds (`Nats-Msg-Id`, …). */
function fromNatsHeaders(h: MsgHdrs | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  if (h === undefined) return values;
  for (const key of h.keys()) {
    if (!key.startsWith('Nats-')) values[key] = h.get(key);
  }
  return values;
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Header values cannot hold line breaks. */
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}
