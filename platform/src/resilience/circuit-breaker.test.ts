import { describe, expect, test } from 'vitest';
import { findAppError } from '../errors/index.js';
import { CircuitBreaker, circuitOpenCode } from './circuit-breaker.js';

function aBreaker(now: { t: number }) {
  return new CircuitBreaker('inventory', {
    failureThreshold: 3,
    openMs: 1000,
    now: () => now.t,
    isFailure: (e) => (e as Error).message !== 'invalid',
  });
}
const fail =
  (message = 'down') =>
  () =>
    Promise.reject(new Error(message));
const succeed = () => Promise.resolve('ok');

describe('CircuitBreaker', () => {
  test('when failures in a row reach the threshold, then calls are refused at once without reaching the callee', async () => {
    const now = { t: 0 };
    const breaker = aBreaker(now);
    for (let i = 0; i < 3; i++) await breaker.execute(fail()).catch(() => undefined);
    let reached = false;
    const error = await breaker
      .execute(() => {
        reached = true;
        return succeed();
      })
      .catch((e: unknown) => e);
    expect(findAppError(error)?.code).toBe(circuitOpenCode);
    expect(reached).toBe(false);
    expect(breaker.state).toBe('open');
  });

  test('when the open time has passed and the trial call succeeds, then the breaker closes again', async () => {
    const now = { t: 0 };
    const breaker = aBreaker(now);
    for (let i = 0; i < 3; i++) await breaker.execute(fail()).catch(() => undefined);
    now.t = 1000;
    expect(breaker.state).toBe('half-open');
    expect(await breaker.execute(succeed)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  test('when the trial call fails, then the breaker opens for another period', async () => {
    const now = { t: 0 };
    const breaker = aBreaker(now);
    for (let i = 0; i < 3; i++) await breaker.execute(fail()).catch(() => undefined);
    now.t = 1000;
    await breaker.execute(fail()).catch(() => undefined);
    expect(breaker.state).toBe('open');
    now.t = 1999;
    expect(breaker.state).toBe('open');
  });

  test("when errors are the caller's fault, then they do not open the breaker", async () => {
    const breaker = aBreaker({ t: 0 });
    for (let i = 0; i < 5; i++) await breaker.execute(fail('invalid')).catch(() => undefined);
    expect(breaker.state).toBe('closed');
  });
});
