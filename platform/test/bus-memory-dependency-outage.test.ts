import { describe, expect, test } from 'vitest';
import { MemoryBus, type Delivery } from '../src/bus/index.js';
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
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const subscription = await bus.subscribe(subscriptionOptions({ subjects: ['events.sample'], maxDeliver: 2, retryBackoffMs: [5, 10] }), (delivery) => {
      attempts++;
      if (attempts <= 5) return Promise.reject(new Error('transaction failed', { cause: refused }));
      applied.push(delivery);
      return Promise.resolve();
    });
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
