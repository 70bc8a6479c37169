import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import {
  busHeaders,
  type Bus,
  type BusMessage,
  type Delivery,
  type DeliveryHandler,
  type Subscription,
  type SubscriptionOptions,
} from '../src/bus/index.js';

export interface BusFixture {
  readonly bus: Bus;
  /** Prefix of the subjects this bus accepts, e.g. `events` or `t1a2b.events`. */
  readonly subjectPrefix: string;
  cleanup(): Promise<void>;
}

export interface BusContractOptions {
  /**
   * True when messages published while a durable subscription is stopped wait for it (NATS).
   * The in-memory bus keeps nothing: its publish rejects instead, so the outbox keeps them.
   */
  readonly keepsMessagesWhileStopped: boolean;
}

/** Polls `check` until it stops throwing, instead of sleeping for a guessed time. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(10);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function aMessage(subject: string, overrides: Partial<BusMessage> = {}): BusMessage {
  const id = overrides.id ?? randomUUID();
  return {
    subject,
    id,
    data: new TextEncoder().encode(`payload of ${id}`),
    headers: {
      [busHeaders.eventType]: subject,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
    ...overrides,
  };
}

export function subscriptionOptions(
  overrides: Partial<SubscriptionOptions> & Pick<SubscriptionOptions, 'subjects'>,
): SubscriptionOptions {
  return {
    name: 'contract.consumer',
    maxDeliver: 3,
    ackWaitMs: 30_000,
    retryBackoffMs: [10, 20],
    concurrency: 1,
    ...overrides,
  };
}

/** A promise with its resolve function, to hold handlers until the test lets them go. */
export function gate(): { readonly opened: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const text = (data: Uint8Array): string => new TextDecoder().decode(data);

/** The delivery rules every bus adapter keeps; run by bus-memory.test.ts and bus-nats.test.ts. */
export function busContractSuite(
  name: string,
  makeBus: () => Promise<BusFixture>,
  options: BusContractOptions,
): void {
  describe(`${name} bus contract`, () => {
    let fixture: BusFixture | undefined;
    const subscriptions: Subscription[] = [];

    async function start(): Promise<{ bus: Bus; subject: (type: string) => string }> {
      fixture = await makeBus();
      const prefix = fixture.subjectPrefix;
      return { bus: fixture.bus, subject: (type) => `${prefix}.${type}` };
    }

    async function subscribe(
      bus: Bus,
      opts: SubscriptionOptions,
      handler: DeliveryHandler,
    ): Promise<Subscription> {
      const subscription = await bus.subscribe(opts, handler);
      subscriptions.push(subscription);
      return subscription;
    }

    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
      await fixture?.cleanup();
      fixture = undefined;
    });

    test('when a message is published, then the subscriber receives its subject, id, data and headers', async () => {
      // Arrange
      const { bus, subject } = await start();
      const received: Delivery[] = [];
      await subscribe(
        bus,
        subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')] }),
        (d) => {
          received.push(d);
          return Promise.resolve();
        },
      );
      const message = aMessage(subject('order.v1.OrderPlaced'));
      // Act
      await bus.publish([message]);
      // Assert
      await eventually(() => expect(received).toHaveLength(1));
      const [delivery] = received;
      expect(delivery).toMatchObject({
        subject: message.subject,
        id: message.id,
        attempt: 1,
        subscription: 'contract.consumer',
        headers: { ...message.headers, [busHeaders.eventId]: message.id },
      });
      expect(text(delivery?.data ?? new Uint8Array())).toBe(text(message.data));
    });

    test('when two subscriptions listen to one subject, then each receives its own copy', async () => {
      // Arrange
      const { bus, subject } = await start();
      const received: string[] = [];
      for (const name of ['inventory.reserve-stock', 'notification.order-confirmation']) {
        await subscribe(
          bus,
          subscriptionOptions({ name, subjects: [subject('order.v1.OrderPlaced')] }),
          (d) => {
            received.push(`${d.subscription}:${d.id}`);
            return Promise.resolve();
          },
        );
      }
      const message = aMessage(subject('order.v1.OrderPlaced'));
      // Act
      await bus.publish([message]);
      // Assert
      await eventually(() =>
        expect(received.sort()).toEqual([
          `inventory.reserve-stock:${message.id}`,
          `notification.order-confirmation:${message.id}`,
        ]),
      );
    });

    test('when a handler throws, then the message is redelivered with the next attempt and acked once it succeeds', async () => {
      // Arrange
      const { bus, subject } = await start();
      const attempts: number[] = [];
      const acked: string[] = [];
      await subscribe(
        bus,
        subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')], maxDeliver: 5 }),
        (d) => {
          attempts.push(d.attempt);
          if (d.attempt < 3) return Promise.reject(new Error(`transient failure ${d.attempt}`));
          acked.push(d.id);
          return Promise.resolve();
        },
      );
      const message = aMessage(subject('order.v1.OrderPlaced'));
      // Act
      await bus.publish([message]);
      // Assert
      await eventually(() => expect(acked).toEqual([message.id]));
      expect(attempts).toEqual([1, 2, 3]);
      expect(await bus.listDeadLetters()).toEqual([]);
    });

    test('when a handler fails maxDeliver times, then the message is a dead letter with its error, attempts and subject', async () => {
      // Arrange
      const { bus, subject } = await start();
      const attempts: number[] = [];
      await subscribe(
        bus,
        subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')], maxDeliver: 3 }),
        (d) => {
          attempts.push(d.attempt);
          return Promise.reject(new Error('stock service said no'));
        },
      );
      const message = aMessage(subject('order.v1.OrderPlaced'));
      // Act
      await bus.publish([message]);
      // Assert
      const [deadLetter] = await eventually(async () => {
        const deadLetters = await bus.listDeadLetters();
        expect(deadLetters).toHaveLength(1);
        return deadLetters;
      });
      expect(attempts).toEqual([1, 2, 3]);
      expect(deadLetter).toMatchObject({
        subscription: 'contract.consumer',
        subject: message.subject,
        eventId: message.id,
        error: 'stock service said no',
        attempts: 3,
        headers: { ...message.headers, [busHeaders.eventId]: message.id },
      });
      expect(deadLetter?.failedAt).toBeInstanceOf(Date);
      expect(text(deadLetter?.data ?? new Uint8Array())).toBe(text(message.data));
    });

    test('when a dead letter is redriven, then it is delivered again with the same event id and leaves the dead letters', async () => {
      // Arrange
      const { bus, subject } = await start();
      let healed = false;
      const acked: Delivery[] = [];
      await subscribe(
        bus,
        subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')], maxDeliver: 2 }),
        (d) => {
          if (!healed) return Promise.reject(new Error('not yet'));
          acked.push(d);
          return Promise.resolve();
        },
      );
      const message = aMessage(subject('order.v1.OrderPlaced'));
      await bus.publish([message]);
      const [deadLetter] = await eventually(async () => {
        const deadLetters = await bus.listDeadLetters();
        expect(deadLetters).toHaveLength(1);
        return deadLetters;
      });
      healed = true;
      // Act
      const redriven = await bus.redriveDeadLetters([deadLetter?.id ?? '']);
      // Assert
      expect(redriven).toBe(1);
      await eventually(() => expect(acked).toHaveLength(1));
      expect(acked[0]).toMatchObject({
        subject: message.subject,
        id: message.id,
        headers: { ...message.headers, [busHeaders.eventId]: message.id },
      });
      expect(text(acked[0]?.data ?? new Uint8Array())).toBe(text(message.data));
      expect(await bus.listDeadLetters()).toEqual([]);
    });

    test('when a handler fails permanently, then the message is dead-lettered at once', async () => {
      // Arrange
      const { bus, subject } = await start();
      const attempts: number[] = [];
      await subscribe(
        bus,
        subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')], maxDeliver: 5 }),
        (d) => {
          attempts.push(d.attempt);
          return Promise.reject(
            Object.assign(new Error('payload is not a valid OrderPlaced'), { permanent: true }),
          );
        },
      );
      const message = aMessage(subject('order.v1.OrderPlaced'));
      // Act
      await bus.publish([message]);
      // Assert
      const [deadLetter] = await eventually(async () => {
        const deadLetters = await bus.listDeadLetters();
        expect(deadLetters).toHaveLength(1);
        return deadLetters;
      });
      expect(deadLetter).toMatchObject({
        attempts: 1,
        error: 'payload is not a valid OrderPlaced',
      });
      expect(attempts).toEqual([1]);
    });

    test('when the same message id is published twice, then it is delivered once', async () => {
      // Arrange
      const { bus, subject } = await start();
      const received: string[] = [];
      await subscribe(
        bus,
        subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')] }),
        (d) => {
          received.push(d.id);
          return Promise.resolve();
        },
      );
      const message = aMessage(subject('order.v1.OrderPlaced'));
      const marker = aMessage(subject('order.v1.OrderPlaced'));
      // Act
      await bus.publish([message]);
      await bus.publish([message]);
      await bus.publish([marker]);
      // Assert: deliveries of one subject to one subscription come in order, so once the marker
      // is in, a second copy would have been too.
      await eventually(() => expect(received).toContain(marker.id));
      expect(received).toEqual([message.id, marker.id]);
    });

    test('when concurrency is 2, then no more than 2 deliveries are handled at once', async () => {
      // Arrange
      const { bus, subject } = await start();
      const release = gate();
      let active = 0;
      let mostActive = 0;
      const done: string[] = [];
      await subscribe(
        bus,
        subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')], concurrency: 2 }),
        async (d) => {
          active += 1;
          mostActive = Math.max(mostActive, active);
          await release.opened;
          active -= 1;
          done.push(d.id);
        },
      );
      const messages = Array.from({ length: 6 }, () => aMessage(subject('order.v1.OrderPlaced')));
      // Act: the in-memory bus resolves publish only after delivery, so it is awaited last.
      const published = bus.publish(messages);
      await eventually(() => expect(active).toBe(2));
      release.open();
      // Assert
      await published;
      await eventually(() => expect(done).toHaveLength(6));
      expect(mostActive).toBe(2);
    });

    test('when a subscription stops, then it waits for the delivery in flight', async () => {
      // Arrange
      const { bus, subject } = await start();
      const release = gate();
      let started = false;
      let finished = false;
      const subscription = await bus.subscribe(
        subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')] }),
        async () => {
          started = true;
          await release.opened;
          finished = true;
        },
      );
      const published = bus.publish([aMessage(subject('order.v1.OrderPlaced'))]);
      await eventually(() => expect(started).toBe(true));
      // Act
      let stopped = false;
      const stopping = subscription.stop().then(() => {
        stopped = true;
      });
      await sleep(50);
      const stoppedBeforeRelease = stopped;
      release.open();
      await stopping;
      // Assert
      expect(stoppedBeforeRelease).toBe(false);
      expect(finished).toBe(true);
      await published;
    });

    test('when a subject has no subscriber, then publish still resolves', async () => {
      // Arrange
      const { bus, subject } = await start();
      // Act
      const published = bus.publish([aMessage(subject('order.v1.Unheard'))]);
      // Assert
      await expect(published).resolves.toBeUndefined();
    });

    test('when deliveries wait behind a held handler and a message failed for good, then diagnostics count them for the subscriptions asked for, and only those', async () => {
      // Arrange
      const { bus, subject } = await start();
      const held = gate();
      await subscribe(
        bus,
        subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')], concurrency: 1 }),
        () => held.opened,
      );
      await subscribe(
        bus,
        subscriptionOptions({
          name: 'contract.poisoned',
          subjects: [subject('order.v1.OrderCancelled')],
        }),
        () => Promise.reject(Object.assign(new Error('undecodable'), { permanent: true })),
      );
      await bus.publish([aMessage(subject('order.v1.OrderCancelled'))]);
      // The in-memory bus resolves a publish once it is settled, so this one waits for the gate.
      const publishing = bus.publish(
        [1, 2, 3].map(() => aMessage(subject('order.v1.OrderPlaced'))),
      );
      // Act
      const waiting = await eventually(async () => {
        const figures = await bus.diagnostics(['contract.consumer', 'contract.poisoned', 'absent']);
        expect(figures.deadLetters).toBe(1);
        const [behindGate, poisoned] = figures.consumers;
        expect((behindGate?.pending ?? 0) + (behindGate?.inFlight ?? 0)).toBe(3);
        expect(poisoned).toEqual({ subscription: 'contract.poisoned', pending: 0, inFlight: 0 });
        return figures;
      });
      // Assert
      expect(['connected', 'in-process']).toContain(waiting.connection);
      expect(waiting.consumers.map((c) => c.subscription)).toEqual([
        'contract.consumer',
        'contract.poisoned',
      ]);
      expect(waiting.consumers[0]?.inFlight).toBeGreaterThanOrEqual(1);
      expect((await bus.diagnostics(['contract.consumer'])).deadLetters).toBe(0);
      held.open();
      await publishing;
      await eventually(async () =>
        expect((await bus.diagnostics(['contract.consumer'])).consumers).toEqual([
          { subscription: 'contract.consumer', pending: 0, inFlight: 0 },
        ]),
      );
    });

    if (options.keepsMessagesWhileStopped) {
      test('when messages are published while a durable subscription is stopped, then they are delivered when it subscribes again', async () => {
        // Arrange
        const { bus, subject } = await start();
        const received: string[] = [];
        const handler: DeliveryHandler = (d) => {
          received.push(d.id);
          return Promise.resolve();
        };
        const opts = subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')] });
        const first = await bus.subscribe(opts, handler);
        await first.stop();
        const messages = [
          aMessage(subject('order.v1.OrderPlaced')),
          aMessage(subject('order.v1.OrderPlaced')),
        ];
        await bus.publish(messages);
        // Act
        await subscribe(bus, opts, handler);
        // Assert
        await eventually(() => expect(received).toEqual(messages.map((m) => m.id)));
      });
    } else {
      test('when a message is published for a stopped subscription, then publish rejects and the same message is accepted after it subscribes again', async () => {
        // Arrange
        const { bus, subject } = await start();
        const received: string[] = [];
        const handler: DeliveryHandler = (d) => {
          received.push(d.id);
          return Promise.resolve();
        };
        const opts = subscriptionOptions({ subjects: [subject('order.v1.OrderPlaced')] });
        const first = await bus.subscribe(opts, handler);
        await first.stop();
        const message = aMessage(subject('order.v1.OrderPlaced'));
        // Act
        const whileStopped = bus.publish([message]);
        // Assert
        await expect(whileStopped).rejects.toThrow(/not settled/);
        await subscribe(bus, opts, handler);
        await bus.publish([message]);
        expect(received).toEqual([message.id]);
      });
    }
  });
}
