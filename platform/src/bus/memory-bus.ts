import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
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

/** Node fires a longer setTimeout at once (with a warning), so longer delays are clamped to it. */
const maxTimerMs = 2_147_483_647;

/** How many recent message ids the in-memory bus remembers to drop duplicate publishes. */
export const defaultDuplicateWindowSize = 10_000;

export interface MemoryBusOptions {
  /**
   * When set, dead letters are kept in this file (one JSON object a line, data in base64) and
   * loaded again at construction, so they survive a restart of the embedded mode.
   */
  readonly deadLetterFile?: string;
  /** How many recent message ids are remembered, like JetStream's duplicate window. */
  readonly duplicateWindowSize?: number;
}

/**
 * An in-process bus with NATS JetStream's delivery rules, for the embedded mode and tests.
 *
 * It keeps no messages of its own: `publish` resolves only when every subscription of every
 * message has settled it (acked or dead-lettered), so the outbox marks a row published only
 * after delivery and a crash at any moment loses nothing.
 * - A subject no subscription has ever listened to (in this process) drops the message at once.
 *   Subscribe before starting the outbox relays.
 * - A subscription that stopped is remembered: messages for it make `publish` reject until it
 *   subscribes again, so the outbox keeps them. This is what a durable consumer does on NATS.
 * - Several `subscribe` calls with one name compete for deliveries, like one durable consumer.
 * - A delivery that is not settled within `ackWaitMs` counts as a failed attempt and is
 *   redelivered (the late result is ignored), as the broker would.
 */
export class MemoryBus implements Bus {
  private readonly groups = new Map<string, SubscriptionGroup>();
  private readonly settledIds = new Set<string>();
  private readonly settlingIds = new Map<string, Promise<void>>();
  private readonly duplicateWindowSize: number;
  private readonly deadLetterFile: string | undefined;
  private readonly deadLetters = new Map<string, DeadLetter>();
  private nextDeadLetterId = 1;
  // Writes to the dead-letter file run one after another so a rewrite never races an append.
  private fileWrites: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.duplicateWindowSize = options.duplicateWindowSize ?? defaultDuplicateWindowSize;
    this.deadLetterFile = options.deadLetterFile;
    if (this.deadLetterFile !== undefined) this.loadDeadLetters(this.deadLetterFile);
  }

  async publish(messages: readonly BusMessage[]): Promise<void> {
    if (this.closed) throw new Error('the in-memory bus is closed');
    const results = await Promise.allSettled(messages.map((m) => this.settle(m.id, m)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) {
      throw new Error(
        `${failures.length} of ${messages.length} messages were not settled by every subscription`,
        { cause: failures[0]?.reason },
      );
    }
  }

  subscribe(options: SubscriptionOptions, handler: DeliveryHandler): Promise<Subscription> {
    if (this.closed) return Promise.reject(new Error('the in-memory bus is closed'));
    let group = this.groups.get(options.name);
    if (group === undefined) {
      group = new SubscriptionGroup(options.name, options.subjects);
      this.groups.set(options.name, group);
    } else if (group.members.length === 0) {
      group.subjects = new Set(options.subjects);
    } else if (!sameSubjects(group.subjects, options.subjects)) {
      return Promise.reject(
        new Error(`subscription ${options.name} is already active with other subjects`),
      );
    }
    const member = new Member(group, options, handler, this);
    group.members.push(member);
    return Promise.resolve(member);
  }

  listDeadLetters(): Promise<DeadLetter[]> {
    return Promise.resolve([...this.deadLetters.values()]);
  }

  async redriveDeadLetters(ids?: readonly string[]): Promise<number> {
    const targets = (ids ?? [...this.deadLetters.keys()])
      .map((id) => this.deadLetters.get(id))
      .filter((d): d is DeadLetter => d !== undefined);
    // A new dedupe key per redrive, so the duplicate window does not drop it; the event id
    // stays, so inboxes that already applied the event ignore it.
    const results = await Promise.allSettled(
      targets.map(async (d) => {
        // Without its subscription in this process the message would be dropped, not delivered.
        if (!this.groups.has(d.subscription)) {
          throw new Error(
            `subscription ${d.subscription} is not subscribed; subscribe it before redriving`,
          );
        }
        await this.settle(`redrive:${d.eventId}:${d.id}`, {
          subject: d.subject,
          id: d.eventId,
          data: d.data,
          headers: d.headers,
        });
        this.deadLetters.delete(d.id);
      }),
    );
    const redriven = results.filter((r) => r.status === 'fulfilled').length;
    if (redriven > 0) await this.rewriteDeadLetterFile();
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) {
      throw new Error(
        `${targets.length - redriven} of ${targets.length} dead letters were not redriven`,
        {
          cause: failure.reason,
        },
      );
    }
    return redriven;
  }

  diagnostics(subscriptions: readonly string[]): Promise<BusDiagnostics> {
    const wanted = new Set(subscriptions);
    const consumers: ConsumerLag[] = [];
    for (const name of subscriptions) {
      const group = this.groups.get(name);
      if (group !== undefined && group.members.length > 0) consumers.push(group.lag());
    }
    let deadLetters = 0;
    for (const letter of this.deadLetters.values())
      if (wanted.has(letter.subscription)) deadLetters++;
    return Promise.resolve({
      kind: 'memory',
      connection: this.closed ? 'closed' : 'in-process',
      consumers,
      deadLetters,
    });
  }

  ping(): Promise<void> {
    return this.closed
      ? Promise.reject(new Error('the in-memory bus is closed'))
      : Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    const members = [...this.groups.values()].flatMap((g) => g.members);
    await Promise.all(members.map((m) => m.stop()));
    await this.fileWrites;
  }

  /** Delivers one message to every subscription of its subject; deduplicated by `key`. */
  private settle(key: string, message: BusMessage): Promise<void> {
    if (this.settledIds.has(key)) return Promise.resolve();
    // A duplicate published while the first is still being delivered waits for the same outcome.
    const settling = this.settlingIds.get(key);
    if (settling !== undefined) return settling;
    const groups = [...this.groups.values()].filter((g) => g.subjects.has(message.subject));
    // An event id the publisher set wins: the same logical event published in two versions (two
    // messages, two ids) keeps one event id, so a consumer's inbox applies it once.
    const headers = { [busHeaders.eventId]: message.id, ...message.headers };
    const promise = Promise.allSettled(
      // Each subscription gets its own copy, so one handler cannot change what another sees.
      groups.map((g) =>
        this.deliver(g, { ...message, headers, data: new Uint8Array(message.data) }),
      ),
    )
      .then((results) => {
        const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failure !== undefined) throw failure.reason;
        // Only a settled message counts as accepted: a failed one must be accepted on retry.
        this.rememberSettled(key);
      })
      .finally(() => this.settlingIds.delete(key));
    this.settlingIds.set(key, promise);
    return promise;
  }

  private rememberSettled(key: string): void {
    this.settledIds.add(key);
    if (this.settledIds.size > this.duplicateWindowSize) {
      // Sets iterate in insertion order, so the first one is the oldest.
      const oldest = this.settledIds.values().next();
      if (oldest.done !== true) this.settledIds.delete(oldest.value);
    }
  }

  private deliver(group: SubscriptionGroup, message: BusMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      group.enqueue({ message, attempt: 0, dependencyFailures: 0, resolve, reject });
    });
  }

  /** Records a dead letter; resolves once it is persisted, so the delivery counts as settled. */
  async addDeadLetter(group: SubscriptionGroup, job: Job, error: unknown): Promise<void> {
    const deadLetter: DeadLetter = {
      id: String(this.nextDeadLetterId++),
      subscription: group.name,
      subject: job.message.subject,
      eventId: job.message.id,
      error: errorMessage(error),
      attempts: job.attempt,
      failedAt: new Date(),
      headers: job.message.headers,
      data: job.message.data,
    };
    this.deadLetters.set(deadLetter.id, deadLetter);
    const file = this.deadLetterFile;
    if (file === undefined) return;
    try {
      await this.writeFile(async () => {
        await mkdir(dirname(file), { recursive: true });
        await appendFile(file, `${JSON.stringify(toStored(deadLetter))}\n`);
      });
    } catch (err) {
      // Not persisted: the delivery is not settled, so the publisher keeps the message.
      this.deadLetters.delete(deadLetter.id);
      throw err;
    }
  }

  private async rewriteDeadLetterFile(): Promise<void> {
    const file = this.deadLetterFile;
    if (file === undefined) return;
    await this.writeFile(async () => {
      const lines = [...this.deadLetters.values()].map((d) => `${JSON.stringify(toStored(d))}\n`);
      // Write then rename, so a crash leaves either the old or the new file, never half of one.
      const temporary = `${file}.${process.pid}.tmp`;
      await mkdir(dirname(file), { recursive: true });
      await writeFile(temporary, lines.join(''));
      await rename(temporary, file);
    });
  }

  private writeFile(write: () => Promise<void>): Promise<void> {
    const result = this.fileWrites.then(write);
    this.fileWrites = result.catch(() => undefined);
    return result;
  }

  private loadDeadLetters(file: string): void {
    if (!existsSync(file)) return;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      let deadLetter: DeadLetter;
      try {
        deadLetter = fromStored(JSON.parse(line) as StoredDeadLetter);
      } catch {
        // A line torn by a crash was never acknowledged to its publisher, which still has it.
        continue;
      }
      this.deadLetters.set(deadLetter.id, deadLetter);
      const numeric = Number(deadLetter.id);
      if (Number.isInteger(numeric) && numeric >= this.nextDeadLetterId) {
        this.nextDeadLetterId = numeric + 1;
      }
    }
  }
}

/** One delivery of one message to one subscription, until it is acked or dead-lettered. */
interface Job {
  readonly message: BusMessage;
  /** Attempts made so far that count against `maxDeliver` (not those a dependency outage failed). */
  attempt: number;
  /** Attempts in a row that failed because a dependency was unreachable. */
  dependencyFailures: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** All `subscribe` calls with one name: they share deliveries like one durable consumer. */
class SubscriptionGroup {
  members: Member[] = [];
  subjects: Set<string>;
  private readonly queue: Job[] = [];
  private readonly retries = new Map<Job, NodeJS.Timeout>();
  private nextMember = 0;

  constructor(
    readonly name: string,
    subjects: readonly string[],
  ) {
    this.subjects = new Set(subjects);
  }

  enqueue(job: Job): void {
    if (this.members.length === 0) {
      job.reject(new Error(`subscription ${this.name} is stopped`));
      return;
    }
    this.queue.push(job);
    this.pump();
  }

  retryLater(job: Job, delayMs: number): void {
    if (this.members.length === 0) {
      job.reject(new Error(`subscription ${this.name} is stopped`));
      return;
    }
    const timer = setTimeout(
      () => {
        this.retries.delete(job);
        this.enqueue(job);
      },
      Math.min(delayMs, maxTimerMs),
    );
    this.retries.set(job, timer);
  }

  lag(): ConsumerLag {
    return {
      subscription: this.name,
      pending: this.queue.length + this.retries.size,
      inFlight: this.members.reduce((sum, m) => sum + m.inFlightCount, 0),
    };
  }

  /** Hands queued jobs to members with a free slot, round-robin. */
  pump(): void {
    while (this.queue.length > 0) {
      const member = this.freeMember();
      if (member === undefined) return;
      const job = this.queue.shift();
      if (job !== undefined) member.run(job);
    }
  }

  /** Called when a member stops; the last one gives every waiting job back to its publisher. */
  release(member: Member): void {
    this.members = this.members.filter((m) => m !== member);
    if (this.members.length > 0) {
      this.pump();
      return;
    }
    const stopped = new Error(`subscription ${this.name} is stopped`);
    for (const job of this.queue.splice(0)) job.reject(stopped);
    for (const [job, timer] of this.retries) {
      clearTimeout(timer);
      job.reject(stopped);
    }
    this.retries.clear();
  }

  private freeMember(): Member | undefined {
    for (let i = 0; i < this.members.length; i++) {
      const member = this.members[(this.nextMember + i) % this.members.length];
      if (member !== undefined && member.hasFreeSlot()) {
        this.nextMember = (this.nextMember + i + 1) % this.members.length;
        return member;
      }
    }
    return undefined;
  }
}

class Member implements Subscription {
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly group: SubscriptionGroup,
    private readonly options: SubscriptionOptions,
    private readonly handler: DeliveryHandler,
    private readonly bus: MemoryBus,
  ) {}

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  hasFreeSlot(): boolean {
    return !this.stopped && this.inFlight.size < Math.max(1, this.options.concurrency);
  }

  run(job: Job): void {
    job.attempt += 1;
    const delivery: Delivery = {
      ...job.message,
      attempt: job.attempt,
      subscription: this.group.name,
    };
    const task = this.attempt(job, delivery).finally(() => {
      this.inFlight.delete(task);
      this.group.pump();
    });
    this.inFlight.add(task);
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      // Stop taking jobs now; the ones in flight still settle (or go back to their publisher).
      while (this.inFlight.size > 0) await Promise.all(this.inFlight);
      this.group.release(this);
    }
  }

  private async attempt(job: Job, delivery: Delivery): Promise<void> {
    // Promise.resolve().then turns a handler that throws synchronously into a rejection.
    const handled = Promise.resolve().then(() => this.handler(delivery));
    let timer: NodeJS.Timeout | undefined;
    const ackWait = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`not acknowledged within ackWaitMs (${this.options.ackWaitMs} ms)`)),
        Math.min(this.options.ackWaitMs, maxTimerMs),
      );
    });
    try {
      await Promise.race([handled, ackWait]);
      job.resolve();
    } catch (err) {
      await this.fail(job, err);
    } finally {
      clearTimeout(timer);
    }
    // A handler past its ack wait still holds its slot until it returns, as on the broker.
    await handled.catch(() => undefined);
  }

  private async fail(job: Job, error: unknown): Promise<void> {
    // An unreachable dependency is not the message's fault: the attempt does not count, and it is
    // retried with exponential backoff and jitter however long the outage lasts, never dead-lettered.
    if (isDependencyOutage(error)) {
      job.attempt -= 1;
      job.dependencyFailures += 1;
      this.group.retryLater(
        job,
        dependencyBackoffMs(this.options.retryBackoffMs, job.dependencyFailures),
      );
      return;
    }
    job.dependencyFailures = 0;
    if (isPermanentFailure(error) || job.attempt >= this.options.maxDeliver) {
      try {
        await this.bus.addDeadLetter(this.group, job, error);
        job.resolve();
      } catch (err) {
        job.reject(err);
      }
      return;
    }
    this.group.retryLater(job, backoffFor(this.options.retryBackoffMs, job.attempt));
  }
}

interface StoredDeadLetter {
  id: string;
  subscription: string;
  subject: string;
  eventId: string;
  error: string;
  attempts: number;
  failedAt: string;
  headers: Record<string, string>;
  data: string;
}

function toStored(d: DeadLetter): StoredDeadLetter {
  return {
    id: d.id,
    subscription: d.subscription,
    subject: d.subject,
    eventId: d.eventId,
    error: d.error,
    attempts: d.attempts,
    failedAt: d.failedAt.toISOString(),
    headers: { ...d.headers },
    data: Buffer.from(d.data).toString('base64'),
  };
}

function fromStored(s: StoredDeadLetter): DeadLetter {
  if (typeof s.id !== 'string' || typeof s.subject !== 'string' || typeof s.data !== 'string') {
    throw new Error('not a dead letter');
  }
  return {
    id: s.id,
    subscription: s.subscription,
    subject: s.subject,
    eventId: s.eventId,
    error: s.error,
    attempts: s.attempts,
    failedAt: new Date(s.failedAt),
    headers: s.headers,
    data: new Uint8Array(Buffer.from(s.data, 'base64')),
  };
}

function sameSubjects(current: ReadonlySet<string>, wanted: readonly string[]): boolean {
  return current.size === new Set(wanted).size && wanted.every((s) => current.has(s));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
