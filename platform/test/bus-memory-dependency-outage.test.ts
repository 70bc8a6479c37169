import { describe, expect, test } from 'vitest';
import { MemoryBus, type Delivery } from '../src/bus/index.js';
import { AppError } from '../src/errors/index.js';
import { aMessage, eventually, subscriptionOptions } from './bus-contract.js';

/**
 * The in-memory bus (embedded mode) keeps the NATS adapter's rule found by the chaos drills: a
 * delivery that failed because a dependency was unreachable is retried, never dead-lettered.
 */
describe('MemoryBus when a dependency is down', () => {
  test('when the handler cannot reach its database for more attempts than maxDeliver, then the message is applied once it is back and nothing is dead-lettered', async () => {
    const bus = new MemoryBus();
    let attempts = 0;
    const applied: Delivery[] = [];
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    const subscription = await bus.subscribe(
      subscriptionOptions({ subjects: ['events.sample'], maxDeliver: 2, retryBackoffMs: [5, 10] }),
      (delivery) => {
        attempts++;
        if (attempts <= 5)
          return Promise.reject(new Error('transaction failed', { cause: refused }));
        applied.push(delivery);
        return Promise.resolve();
      },
    );
    try {
      await bus.publish([aMessage('events.sample')]);
      await eventually(() => expect(applied).toHaveLength(1), 5_000);
      expect(attempts).toBe(6);
      expect(await bus.listDeadLetters()).toEqual([]);
    } finally {
      await subscription.stop();
      await bus.close();
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

describe('MemoryBus when a provider behind a port is unavailable', () => {
  test('when the handler fails with an unavailable AppError for more attempts than maxDeliver, then the message is applied once the provider is back and nothing is dead-lettered', async () => {
    // Arrange
    const bus = new MemoryBus();
    let attempts = 0;
    const applied: Delivery[] = [];
    const subscription = await bus.subscribe(
      subscriptionOptions({ subjects: ['events.sample'], maxDeliver: 2, retryBackoffMs: [5, 10] }),
      (delivery) => {
        attempts++;
        if (attempts <= 6) return Promise.reject(providerUnavailable());
        applied.push(delivery);
        return Promise.resolve();
      },
    );
    try {
      // Act
      await bus.publish([aMessage('events.sample')]);

      // Assert
      await eventually(() => expect(applied).toHaveLength(1), 5_000);
      expect(attempts).toBe(7);
      expect(await bus.listDeadLetters()).toEqual([]);
    } finally {
      await subscription.stop();
      await bus.close();
    }
  });

  test('when a message fails on its own after a long outage, then only its own failures count against maxDeliver', async () => {
    // Arrange: retried six times during the outage, then one ordinary failure, then success.
    const bus = new MemoryBus();
    let attempts = 0;
    const applied: Delivery[] = [];
    const subscription = await bus.subscribe(
      subscriptionOptions({ subjects: ['events.sample'], maxDeliver: 2, retryBackoffMs: [5, 10] }),
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
      await bus.publish([aMessage('events.sample')]);

      // Assert
      await eventually(() => expect(applied).toHaveLength(1), 5_000);
      expect(attempts).toBe(8);
      expect(await bus.listDeadLetters()).toEqual([]);
    } finally {
      await subscription.stop();
      await bus.close();
    }
  });

  test('when a message keeps failing on its own after an outage, then it is dead-lettered after maxDeliver of its own failures', async () => {
    // Arrange
    const bus = new MemoryBus();
    let attempts = 0;
    const subscription = await bus.subscribe(
      subscriptionOptions({ subjects: ['events.sample'], maxDeliver: 2, retryBackoffMs: [5, 10] }),
      () => {
        attempts++;
        return Promise.reject(
          attempts <= 3 ? providerUnavailable() : new Error('poison: cannot be applied'),
        );
      },
    );
    try {
      // Act
      await bus.publish([aMessage('events.sample')]);

      // Assert
      const [deadLetter] = await eventually(async () => {
        const deadLetters = await bus.listDeadLetters();
        expect(deadLetters).toHaveLength(1);
        return deadLetters;
      }, 5_000);
      expect(deadLetter).toMatchObject({ error: 'poison: cannot be applied', attempts: 2 });
      expect(attempts).toBe(5);
    } finally {
      await subscription.stop();
      await bus.close();
    }
  });
});
