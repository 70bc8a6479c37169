import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryBus } from '../src/bus/index.js';
import {
  aMessage,
  busContractSuite,
  eventually,
  gate,
  subscriptionOptions,
} from './bus-contract.js';

busContractSuite(
  'in-memory',
  () => {
    const bus = new MemoryBus();
    return Promise.resolve({ bus, subjectPrefix: 'events', cleanup: () => bus.close() });
  },
  { keepsMessagesWhileStopped: false },
);

describe('MemoryBus', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function aDeadLetterFile(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'orderly-bus-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return join(dir, 'nested', 'dead-letters.jsonl');
  }

  test('when the bus restarts with a dead-letter file, then its dead letters are still there and can be redriven', async () => {
    // Arrange
    const file = await aDeadLetterFile();
    const before = new MemoryBus({ deadLetterFile: file });
    const options = subscriptionOptions({
      subjects: ['events.order.v1.OrderPlaced'],
      maxDeliver: 1,
    });
    const failing = await before.subscribe(options, () => Promise.reject(new Error('boom')));
    const message = aMessage('events.order.v1.OrderPlaced');
    await before.publish([message]);
    await failing.stop();
    await before.close();
    // Act
    const after = new MemoryBus({ deadLetterFile: file });
    cleanups.push(() => after.close());
    const deadLetters = await after.listDeadLetters();
    // Assert
    expect(deadLetters).toMatchObject([
      { id: '1', eventId: message.id, subject: message.subject, error: 'boom', attempts: 1 },
    ]);
    expect(deadLetters[0]?.data).toEqual(message.data);
    const received: string[] = [];
    await after.subscribe(options, (d) => {
      received.push(d.id);
      return Promise.resolve();
    });
    expect(await after.redriveDeadLetters()).toBe(1);
    expect(received).toEqual([message.id]);
    expect(await readFile(file, 'utf8')).toBe('');
    expect(await new MemoryBus({ deadLetterFile: file }).listDeadLetters()).toEqual([]);
  });

  test('when the dead-letter file ends with a torn line, then the other dead letters still load', async () => {
    // Arrange
    const file = await aDeadLetterFile();
    const before = new MemoryBus({ deadLetterFile: file });
    await before.subscribe(
      subscriptionOptions({ subjects: ['events.order.v1.OrderPlaced'], maxDeliver: 1 }),
      () => Promise.reject(new Error('boom')),
    );
    await before.publish([aMessage('events.order.v1.OrderPlaced')]);
    await before.close();
    await appendFile(file, '{"id":"2","subscr');
    // Act
    const after = new MemoryBus({ deadLetterFile: file });
    // Assert
    expect((await after.listDeadLetters()).map((d) => d.id)).toEqual(['1']);
  });

  test('when a dead letter is redriven before its subscription subscribed again, then redrive rejects and keeps it', async () => {
    // Arrange
    const file = await aDeadLetterFile();
    const before = new MemoryBus({ deadLetterFile: file });
    await before.subscribe(
      subscriptionOptions({ subjects: ['events.order.v1.OrderPlaced'], maxDeliver: 1 }),
      () => Promise.reject(new Error('boom')),
    );
    await before.publish([aMessage('events.order.v1.OrderPlaced')]);
    await before.close();
    const after = new MemoryBus({ deadLetterFile: file });
    cleanups.push(() => after.close());
    // Act
    const redriving = after.redriveDeadLetters();
    // Assert
    await expect(redriving).rejects.toThrow(/not redriven/);
    expect(await after.listDeadLetters()).toHaveLength(1);
  });

  test('when a handler does not settle within ackWaitMs, then the message is redelivered', async () => {
    // Arrange
    const bus = new MemoryBus();
    cleanups.push(() => bus.close());
    const release = gate();
    const attempts: number[] = [];
    await bus.subscribe(
      subscriptionOptions({
        subjects: ['events.order.v1.OrderPlaced'],
        ackWaitMs: 50,
        concurrency: 2,
      }),
      async (d) => {
        attempts.push(d.attempt);
        if (d.attempt === 1) await release.opened;
      },
    );
    // Act
    await bus.publish([aMessage('events.order.v1.OrderPlaced')]);
    // Assert
    expect(attempts).toEqual([1, 2]);
    release.open();
  });

  test('when the last subscription stops while a retry is pending, then publish rejects so the publisher keeps the message', async () => {
    // Arrange
    const bus = new MemoryBus();
    cleanups.push(() => bus.close());
    let failures = 0;
    const subscription = await bus.subscribe(
      subscriptionOptions({ subjects: ['events.order.v1.OrderPlaced'], retryBackoffMs: [60_000] }),
      () => {
        failures += 1;
        return Promise.reject(new Error('try later'));
      },
    );
    const published = bus.publish([aMessage('events.order.v1.OrderPlaced')]);
    await eventually(() => expect(failures).toBe(1));
    // Act
    await subscription.stop();
    // Assert
    await expect(published).rejects.toThrow(/not settled/);
    expect(await bus.listDeadLetters()).toEqual([]);
  });

  test('when the same message is published again while it is being delivered, then both publishes wait for the one delivery', async () => {
    // Arrange
    const bus = new MemoryBus();
    cleanups.push(() => bus.close());
    const release = gate();
    const received: string[] = [];
    await bus.subscribe(
      subscriptionOptions({ subjects: ['events.order.v1.OrderPlaced'] }),
      async (d) => {
        received.push(d.id);
        await release.opened;
      },
    );
    const message = aMessage('events.order.v1.OrderPlaced');
    // Act
    const first = bus.publish([message]);
    const second = bus.publish([message]);
    await eventually(() => expect(received).toHaveLength(1));
    release.open();
    // Assert
    await Promise.all([first, second]);
    expect(received).toEqual([message.id]);
  });

  test('when two subscriptions share a name, then they compete for deliveries', async () => {
    // Arrange
    const bus = new MemoryBus();
    cleanups.push(() => bus.close());
    const handledBy: string[] = [];
    const options = subscriptionOptions({ subjects: ['events.order.v1.OrderPlaced'] });
    await bus.subscribe(options, () => {
      handledBy.push('a');
      return Promise.resolve();
    });
    await bus.subscribe(options, () => {
      handledBy.push('b');
      return Promise.resolve();
    });
    // Act
    await bus.publish([
      aMessage('events.order.v1.OrderPlaced'),
      aMessage('events.order.v1.OrderPlaced'),
    ]);
    // Assert
    expect(handledBy.sort()).toEqual(['a', 'b']);
  });
});
