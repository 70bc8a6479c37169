import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { AppError, createLogger } from '../src/index.js';
import { Readiness } from '../src/runtime/readiness.js';
import { waitForDependency } from '../src/runtime/startup.js';

/** The parts behind "start in any order" and "/readyz within its budget", without I/O. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ service: 'probe', level: 'info', destination }), lines };
}

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('waiting for a dependency at start', () => {
  test('when the dependency is unavailable three times, then each wait is logged once with the dependency and its delay (backoff with jitter) and the fourth try succeeds', async () => {
    const { log, lines } = capturingLogger();
    const slept: number[] = [];
    const states: (string | undefined)[] = [];
    let tries = 0;
    const result = await waitForDependency(
      'postgres',
      () =>
        ++tries <= 3
          ? Promise.reject(new Error('connect failed', { cause: refused() }))
          : Promise.resolve('up'),
      {
        policy: { baseDelayMs: 100, maxDelayMs: 1000 },
        log,
        random: () => 0.9,
        sleep: (ms) => {
          slept.push(ms);
          return Promise.resolve();
        },
        onWaiting: (reason) => states.push(reason),
      },
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(result).toBe('up');
    expect(slept).toEqual([100, 180, 360]); // max(base, 0.9 × min(max, base·2^(n-1)))
    const waits = lines.filter((l) => String(l.msg).includes('unavailable at start'));
    expect(waits.map((l) => [l.dependency, l.delayMs])).toEqual([
      ['postgres', 100],
      ['postgres', 180],
      ['postgres', 360],
    ]);
    expect(states.at(-1)).toBeUndefined();
    expect(states[0]).toMatch(/waiting for postgres/);
  });

  test('when the failure is not "unavailable" (a configuration error), then it is thrown at once', async () => {
    const { log } = capturingLogger();
    let tries = 0;
    const failing = waitForDependency(
      'postgres',
      () => {
        tries++;
        return Promise.reject(
          new AppError('DATABASE_LOGIN_REFUSED', 'role refused', { kind: 'invalid' }),
        );
      },
      { policy: { baseDelayMs: 1, maxDelayMs: 1 }, log },
    );
    await expect(failing).rejects.toThrow('role refused');
    expect(tries).toBe(1);
  });
});

describe('abandoning a start', () => {
  test('when the start is abandoned while it waits, then the wait ends at once with START_ABANDONED', async () => {
    const { log } = capturingLogger();
    const controller = new AbortController();
    const waiting = waitForDependency(
      'nats',
      () => Promise.reject(new Error('connect', { cause: refused() })),
      {
        policy: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
        log,
        signal: controller.signal,
      },
    );
    setTimeout(() => controller.abort('SIGTERM during start-up'), 20);
    const started = Date.now();
    await expect(waiting).rejects.toMatchObject({ code: 'START_ABANDONED' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('readiness within a budget', () => {
  test('when a check hangs, then evaluate answers within the budget naming it, and later probes join the running check instead of starting another', async () => {
    const readiness = new Readiness();
    let runs = 0;
    readiness.set('database', () => {
      runs++;
      return new Promise(() => {}); // a black-holed link: never answers
    });
    readiness.set('bus', () => Promise.resolve());
    const started = Date.now();
    const first = await readiness.evaluate({ budgetMs: 100, pingTimeoutMs: 10_000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(first).toEqual({ database: 'no answer within 100 ms', bus: 'ok' });
    await readiness.evaluate({ budgetMs: 50, pingTimeoutMs: 10_000 });
    expect(runs).toBe(1);
  });
});
