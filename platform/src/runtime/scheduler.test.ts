import { describe, expect, test } from 'vitest';
import { createLogger } from '../log/index.js';
import { Scheduler } from './scheduler.js';

const log = createLogger({ service: 'test', level: 'silent' });

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Scheduler', () => {
  test('when a task is scheduled, then it runs every interval, and a failed run does not stop it', async () => {
    // Arrange
    let stopping = false;
    const scheduler = new Scheduler(log, () => stopping);
    let runs = 0;
    scheduler.every(
      'flaky',
      () => 5,
      () => {
        runs++;
        return runs === 1 ? Promise.reject(new Error('first run fails')) : Promise.resolve();
      },
    );

    // Act
    scheduler.start();
    await sleep(100);
    stopping = true;
    await scheduler.stop();

    // Assert
    expect(runs).toBeGreaterThanOrEqual(3);
  });

  test('when stop is called during a run, then it waits for that run and the task runs no more', async () => {
    // Arrange
    let stopping = false;
    const scheduler = new Scheduler(log, () => stopping);
    let runs = 0;
    let finished = 0;
    scheduler.every(
      'slow',
      () => 1,
      async () => {
        runs++;
        await sleep(50);
        finished++;
      },
    );
    scheduler.start();
    await sleep(20);

    // Act
    stopping = true;
    await scheduler.stop();

    // Assert
    expect(runs).toBe(1);
    expect(finished).toBe(1);
    await sleep(30);
    expect(runs).toBe(1);
  });

  test('when runBeforeConsumers is called, then only the marked tasks run, once and in order, and a failure is thrown', async () => {
    // Arrange
    const scheduler = new Scheduler(log, () => false);
    const order: string[] = [];
    scheduler.every(
      'first',
      () => 60_000,
      () => Promise.resolve(void order.push('first')),
      {
        runBeforeConsumers: true,
      },
    );
    scheduler.every(
      'unmarked',
      () => 60_000,
      () => Promise.resolve(void order.push('unmarked')),
    );
    scheduler.every(
      'second',
      () => 60_000,
      () => Promise.reject(new Error('sweep failed')),
      {
        runBeforeConsumers: true,
      },
    );

    // Act
    const first = scheduler.runBeforeConsumers();

    // Assert
    await expect(first).rejects.toThrow('sweep failed');
    await scheduler.runBeforeConsumers();
    expect(order).toEqual(['first']);
  });
});
