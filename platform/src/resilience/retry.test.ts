import { describe, expect, test } from 'vitest';
import { backoffDelayMs, retry, RetryBudget } from './retry.js';

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };
const noWait = () => Promise.resolve();

describe('backoffDelayMs', () => {
  test('when attempts grow, then the ceiling doubles up to the maximum and the delay is jittered below it', () => {
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelayMs(policy, a, () => 0.999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(0);
  });
});

describe('retry', () => {
  test('when a retryable failure is followed by success, then the result comes from the later try', async () => {
    let tries = 0;
    const result = await retry(
      () => (++tries < 3 ? Promise.reject(new Error('unavailable')) : Promise.resolve('ok')),
      { policy, isRetryable: () => true, sleep: noWait },
    );
    expect({ result, tries }).toEqual({ result: 'ok', tries: 3 });
  });

  test('when the failure is not retryable, then it is thrown after one try', async () => {
    let tries = 0;
    const outcome = retry(
      () => {
        tries++;
        return Promise.reject(new Error('invalid'));
      },
      { policy, isRetryable: () => false, sleep: noWait },
    );
    await expect(outcome).rejects.toThrow('invalid');
    expect(tries).toBe(1);
  });

  test('when the callee asks to retry after a while, then the wait is at least that long', async () => {
    const waits: number[] = [];
    let tries = 0;
    await retry(() => (++tries < 2 ? Promise.reject(new Error('busy')) : Promise.resolve()), {
      policy,
      isRetryable: () => true,
      retryAfterMs: () => 2000,
      random: () => 0.5,
      sleep: (ms) => (waits.push(ms), Promise.resolve()),
    });
    expect(waits).toEqual([2000]);
  });

  test('when the caller deadline has passed, then no further try starts', async () => {
    const controller = new AbortController();
    let tries = 0;
    const outcome = retry(
      () => {
        tries++;
        controller.abort();
        return Promise.reject(new Error('slow'));
      },
      { policy, isRetryable: () => true, signal: controller.signal, sleep: noWait },
    );
    await expect(outcome).rejects.toThrow('slow');
    expect(tries).toBe(1);
  });

  test('when most calls fail, then the retry budget runs dry and calls fail after one try (no retry storm)', async () => {
    const budget = new RetryBudget({ maxTokens: 10, tokenRatio: 0.1 });
    let tries = 0;
    const failing = () =>
      retry(
        () => {
          tries++;
          return Promise.reject(new Error('down'));
        },
        { policy, budget, isRetryable: () => true, sleep: noWait },
      ).catch(() => undefined);
    for (let i = 0; i < 20; i++) await failing();
    // 5 failures empty half the budget; from then on every call is tried once.
    expect(budget.canRetry).toBe(false);
    expect(tries).toBeLessThan(20 + 6);
    for (let i = 0; i < 60; i++) budget.onSuccess();
    expect(budget.canRetry).toBe(true);
  });
});
