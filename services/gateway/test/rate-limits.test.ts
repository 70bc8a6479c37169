import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { memorySharedState, sharedStateUnavailable, type SharedState } from '@orderly/platform';
import { takeToken, TokenBuckets, windowSeconds } from '../src/entry-points/http/rate-limiter.js';
import { customerToken } from './fake-identity.js';
import { bearer, captureLog, send, startTestGateway, type TestGateway } from './test-gateway.js';

const json = { 'content-type': 'application/json' };

describe('login brute force', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      service: {
        rateLimits: {
          perAddress: { burst: 1000, perMinute: 1000 },
          perUser: { burst: 1000, perMinute: 1000 },
          login: { burst: 5, perMinute: 5 },
          loginAccount: { burst: 1000, perMinute: 1000 },
        },
      },
    });
    gateway.identity.addUser({
      email: 'victim@example.test',
      password: 'the real one!',
      role: 'customer',
    });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  test('when passwords are guessed in a loop, then after 5 attempts login is 429 with Retry-After and RateLimit headers, and identity is no longer asked', async () => {
    const attempt = (password: string) =>
      send(gateway.url, {
        method: 'POST',
        path: '/v1/auth/login',
        headers: json,
        body: JSON.stringify({ email: 'victim@example.test', password }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await attempt(`guess-${i}`)).status);
    const loginsBefore = gateway.identity.calls.login;

    const throttled = await attempt('guess-5');
    const rightPassword = await attempt('the real one!');

    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(throttled.status).toBe(429);
    expect(throttled.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    // 5 per minute: one attempt every 12 s.
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(throttled.headers['retry-after'])).toBeLessThanOrEqual(12);
    expect(throttled.headers['ratelimit-policy']).toBe('"address";q=1000;w=60, "login";q=5;w=60');
    expect(throttled.headers.ratelimit).toMatch(/^"login";r=0;t=\d+$/);
    expect(rightPassword.status).toBe(429);
    expect(gateway.identity.calls.login).toBe(loginsBefore);
  });

  test('when login is throttled, then other routes from the same address still work', async () => {
    const products = await send(gateway.url, { path: '/v1/products' });
    expect(products.status).toBe(200);
    expect(products.headers['ratelimit-policy']).toBe('"address";q=1000;w=60');
  });
});

describe('per account', () => {
  test('when one account is attacked, then its own bucket empties even if the address bucket had room', async () => {
    const gateway = await startTestGateway({
      service: {
        rateLimits: {
          perAddress: { burst: 1000, perMinute: 1000 },
          perUser: { burst: 1000, perMinute: 1000 },
          login: { burst: 1000, perMinute: 1000 },
          loginAccount: { burst: 2, perMinute: 2 },
        },
      },
    });
    try {
      const attempt = () =>
        send(gateway.url, {
          method: 'POST',
          path: '/v1/auth/login',
          headers: json,
          body: JSON.stringify({ email: 'Target@Example.test', password: 'guess' }),
        });
      await attempt();
      await attempt();
      const third = await attempt();
      expect(third.status).toBe(429);
      expect(third.headers['ratelimit-policy']).toBe(
        '"address";q=1000;w=60, "login";q=1000;w=60, "login-account";q=2;w=60',
      );
      expect(third.headers.ratelimit).toMatch(/^"login-account";r=0;t=\d+$/);
      // Another account from the same address is not affected.
      const other = await send(gateway.url, {
        method: 'POST',
        path: '/v1/auth/login',
        headers: json,
        body: JSON.stringify({ email: 'someone-else@example.test', password: 'guess' }),
      });
      expect(other.status).toBe(401);
    } finally {
      await gateway.stop();
    }
  });
});

describe('per user and per address', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      service: {
        rateLimits: {
          perAddress: { burst: 8, perMinute: 60 },
          perUser: { burst: 3, perMinute: 60 },
          login: { burst: 5, perMinute: 5 },
          loginAccount: { burst: 1000, perMinute: 1000 },
        },
      },
    });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  test('when one user exceeds their bucket, then they get 429 while another user from the same address does not', async () => {
    const heavy = bearer(await customerToken('heavy-user'));
    const light = bearer(await customerToken('light-user'));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await send(gateway.url, { path: '/v1/orders', headers: heavy })).status);
    const other = await send(gateway.url, { path: '/v1/orders', headers: light });

    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(other.status).toBe(200);
    expect(other.headers.ratelimit).toMatch(/^"user";r=2;t=\d+$/);
  });

  test('when one address exceeds its bucket, then even public routes are 429 with Retry-After', async () => {
    let response = await send(gateway.url, { path: '/v1/products' });
    for (let i = 0; i < 10 && response.status !== 429; i++)
      response = await send(gateway.url, { path: '/v1/products' });

    expect(response.status).toBe(429);
    expect(Number(response.headers['retry-after'])).toBe(1);
    expect(response.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
  });
});

describe('TokenBuckets', () => {
  const limit = { burst: 2, perMinute: 60 };

  test('when a bucket is emptied, then it refills at the configured rate and never above its burst', async () => {
    let now = 0;
    const local = memorySharedState({ maxEntries: 10, entryTtlMs: 3_600_000 });
    const buckets = new TokenBuckets({ shared: local, local, now: () => now });
    const take = () => buckets.take('k', limit);

    const taken = [await take(), await take(), await take()];
    now += 1000;
    const afterOneSecond = await take();
    now += 3_600_000;
    const afterAnHour = [await take(), await take(), await take()];

    expect(taken.map((t) => t.allowed)).toEqual([true, true, false]);
    expect(taken[2]).toMatchObject({ remaining: 0, retryAfterSeconds: 1, resetSeconds: 2 });
    expect(afterOneSecond.allowed).toBe(true);
    expect(afterAnHour.map((t) => t.allowed)).toEqual([true, true, false]);
    expect(windowSeconds(limit)).toBe(2);
  });

  test("when another replica's clock is behind the bucket's, then nothing is refilled rather than taken back", () => {
    const { bucket } = takeToken(undefined, limit, 10_000);
    const behind = takeToken(bucket, limit, 9_000);
    expect(behind.result).toMatchObject({ allowed: true, remaining: 0 });
    expect(behind.bucket.updatedAt).toBe(10_000);
  });

  test('when the shared store is unavailable, then the bucket is taken from local memory (logged once, counted each time) and shared again once it is back', async () => {
    let down = true;
    const store = memorySharedState({ maxEntries: 10, entryTtlMs: 60_000 });
    const shared: SharedState = {
      update: (key, change) =>
        down ? Promise.reject(sharedStateUnavailable('is down')) : store.update(key, change),
      close: () => Promise.resolve(),
    };
    const { log, lines } = captureLog();
    let fallbacks = 0;
    const buckets = new TokenBuckets({
      shared,
      local: memorySharedState({ maxEntries: 10, entryTtlMs: 60_000 }),
      log,
      onLocalFallback: () => fallbacks++,
      now: () => 0,
    });

    const whileDown = [await buckets.take('k', limit), await buckets.take('k', limit)];
    const stillDown = await buckets.take('k', limit);
    down = false;
    const back = await buckets.take('k', limit);

    expect([...whileDown, stillDown].map((t) => t.allowed)).toEqual([true, true, false]);
    expect(fallbacks).toBe(3);
    expect(back.allowed).toBe(true);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'rate limits shared store unavailable, this replica limits on its own meanwhile'],
      ['info', 'rate limits shared by the replicas again'],
    ]);
  });

  test('when the shared store fails otherwise (a bug), then the request fails rather than going unlimited', async () => {
    const broken: SharedState = {
      update: () => Promise.reject(new Error('bug')),
      close: () => Promise.resolve(),
    };
    const buckets = new TokenBuckets({ shared: broken, local: broken });
    await expect(buckets.take('k', limit)).rejects.toThrow('bug');
  });
});
