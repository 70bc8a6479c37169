import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, test } from 'vitest';
import { connectNatsBus, type Bus, type Delivery } from '../src/bus/index.js';
import { AppError } from '../src/errors/index.js';
import { aMessage, eventually, subscriptionOptions } from './bus-contract.js';

/**
 * Regression for what the chaos drill's PostgreSQL restart showed: a consumer whose database was
 * down for longer than its redelivery delays dead-lettered the events it received meanwhile
 * (settlements and confirmations were then never applied). An unreachable dependency is not the
 * message's fault: the subscription backs off and keeps the message until the dependency is back.
 */
const natsUrl = process.env.ORDERLY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

function connectionRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
}

describe('NATS bus when a dependency is down', () => {
  test('when the handler cannot reach its database for more attempts than maxDeliver, then the message is applied once it is back and nothing is dead-lettered', async () => {
    // Arrange
    const id = randomBytes(4).toString('hex');
    const prefix = `t${id}`;
    const streams = { stream: `TEST_${id}`, deadLetterStream: `TEST_${id}_DEAD` };
    const bus = await connectNatsBus({
      servers: natsUrl,
      ...streams,
      duplicateWindowMs: 60_000,
      subjects: [`${prefix}.events.>`],
      deadLetterSubjectPrefix: `${prefix}.deadletter`,
    });
    const subject = `${prefix}.events.sample`;
    let attempts = 0;
    const applied: Delivery[] = [];
    const subscription = await bus.subscribe(
      subscriptionOptions({ subjects: [subject], maxDeliver: 2, retryBackoffMs: [10, 40] }),
      (delivery) => {
        attempts++;
        // The database is "down" for the first five attempts.
        if (attempts <= 5)
          return Promise.reject(new Error('transaction failed', { cause: connectionRefused() }));
        applied.push(delivery);
        return Promise.resolve();
      },
    );
    try {
      // Act
      await bus.publish([aMessage(subject)]);

      // Assert
      await eventually(() => expect(applied).toHaveLength(1), 10_000);
      expect(attempts).toBe(6);
      expect(await bus.listDeadLetters()).toEqual([]);
    } finally {
      await subscription.stop();
      await bus.close();
      const nc = await connect({ servers: natsUrl });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(streams.stream);
      await jsm.streams.delete(streams.deadLetterStream);
      await nc.close();
    }
  });
});

/** What a port throws when the provider behind it cannot be reached, wrapped by the use case. */
function providerUnavailable(): Error {
  return new Error('refund failed', {
    cause: new AppError('PROVIDER_UNAVAILABLE', 'the provider is unavailable', {
      kind: 'unavailable',
    }),
  });
}

async function withTestBus(run: (bus: Bus, subject: string) => Promise<void>): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const prefix = `t${id}`;
  const streams = { stream: `TEST_${id}`, deadLetterStream: `TEST_${id}_DEAD` };
  const bus = await connectNatsBus({
    servers: natsUrl,
    ...streams,
    duplicateWindowMs: 60_000,
    subjects: [`${prefix}.events.>`],
    deadLetterSubjectPrefix: `${prefix}.deadletter`,
  });
  try {
    await run(bus, `${prefix}.events.sample`);
  } finally {
    await bus.close();
    const nc = await connect({ servers: natsUrl });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(streams.stream);
    await jsm.streams.delete(streams.deadLetterStream);
    await nc.close();
  }
}

describe('NATS bus when a provider behind a port is unavailable', () => {
  test('when the handler fails with an unavailable AppError for more attempts than maxDeliver, then the message is applied once the provider is back and nothing is dead-lettered', async () => {
    await withTestBus(async (bus, subject) => {
      // Arrange
      let attempts = 0;
      const applied: Delivery[] = [];
      const subscription = await bus.subscribe(
        subscriptionOptions({ subjects: [subject], maxDeliver: 2, retryBackoffMs: [10, 40] }),
        (delivery) => {
          attempts++;
          if (attempts <= 6) return Promise.reject(providerUnavailable());
          applied.push(delivery);
          return Promise.resolve();
        },
      );
      try {
        // Act
        await bus.publish([aMessage(subject)]);

        // Assert
        await eventually(() => expect(applied).toHaveLength(1), 10_000);
        expect(attempts).toBe(7);
        expect(await bus.listDeadLetters()).toEqual([]);
      } finally {
        await subscription.stop();
      }
    });
  });

  test('when a message fails on its own after a long outage, then only its own failures count against maxDeliver', async () => {
    await withTestBus(async (bus, subject) => {
      // Arrange: redelivered six times during the outage, then one ordinary failure, then success.
      let attempts = 0;
      const applied: Delivery[] = [];
      const subscription = await bus.subscribe(
        subscriptionOptions({ subjects: [subject], maxDeliver: 2, retryBackoffMs: [10, 40] }),
        (delivery) => {
          attempts++;
          if (attempts <= 6) return Promise.reject(providerUnavailable());
          if (attempts === 7) return Promise.reject(new Error('a conflict that retrying resolves'));
          applied.push(delivery);
          return Promise.resolve();
        },
      );
      try {
        // Act
        await bus.publish([aMessage(subject)]);

        // Assert
        await eventually(() => expect(applied).toHaveLength(1), 10_000);
        expect(attempts).toBe(8);
        expect(await bus.listDeadLetters()).toEqual([]);
      } finally {
        await subscription.stop();
      }
    });
  });

  test('when messages wait out an outage longer than their ack wait, then the redeliveries do not count against maxDeliver', async () => {
    await withTestBus(async (bus, subject) => {
      // Arrange: the provider is down for three ack waits; every message then fails once on its own.
      const downUntil = Date.now() + 1_500;
      const calls = new Map<string, number>();
      const applied = new Set<string>();
      const subscription = await bus.subscribe(
        subscriptionOptions({
          subjects: [subject],
          maxDeliver: 2,
          ackWaitMs: 500,
          retryBackoffMs: [100, 400],
        }),
        (delivery) => {
          if (Date.now() < downUntil) return Promise.reject(providerUnavailable());
          const n = (calls.get(delivery.id) ?? 0) + 1;
          calls.set(delivery.id, n);
          if (n === 1) return Promise.reject(new Error('a conflict that retrying resolves'));
          applied.add(delivery.id);
          return Promise.resolve();
        },
      );
      try {
        // Act
        const messages = [aMessage(subject), aMessage(subject), aMessage(subject)];
        await bus.publish(messages);

        // Assert
        await eventually(
          () => expect([...applied].sort()).toEqual(messages.map((m) => m.id).sort()),
          10_000,
        );
        expect(await bus.listDeadLetters()).toEqual([]);
      } finally {
        await subscription.stop();
      }
    });
  });

  test('when a message keeps failing on its own after an outage, then it is dead-lettered after maxDeliver of its own failures', async () => {
    await withTestBus(async (bus, subject) => {
      // Arrange
      let attempts = 0;
      const subscription = await bus.subscribe(
        subscriptionOptions({ subjects: [subject], maxDeliver: 2, retryBackoffMs: [10, 40] }),
        () => {
          attempts++;
          return Promise.reject(
            attempts <= 3 ? providerUnavailable() : new Error('poison: cannot be applied'),
          );
        },
      );
      try {
        // Act
        await bus.publish([aMessage(subject)]);

        // Assert
        const [deadLetter] = await eventually(async () => {
          const deadLetters = await bus.listDeadLetters();
          expect(deadLetters).toHaveLength(1);
          return deadLetters;
        }, 10_000);
        expect(deadLetter).toMatchObject({ error: 'poison: cannot be applied', attempts: 2 });
        expect(attempts).toBe(5);
      } finally {
        await subscription.stop();
      }
    });
  });
});
