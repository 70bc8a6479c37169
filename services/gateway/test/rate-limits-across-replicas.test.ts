import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { generousRateLimits, send, startTestGateway, type TestGateway } from './test-gateway.js';

/**
 * Issue 20 item 7: two gateway replicas on one NATS share their rate-limit buckets (a JetStream
 * key-value bucket), so a client gets its limit once, not once per replica.
 */
const natsUrl = process.env.ORDERLY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const bucket = `TEST_RATE_LIMITS_${randomBytes(4).toString('hex')}`;
const burst = 10;
// One token a minute: nothing refills during the test, so exactly `burst` requests may pass.
const rateLimits = {
  ...generousRateLimits,
  perAddress: { burst, perMinute: 1 },
  shared: {
    bucket,
    entryTtlMs: 600_000,
    maxBytes: 1024 * 1024,
    operationTimeoutMs: 2000,
    maxAttempts: 8,
    roundIntervalMs: 2,
  },
};
const replicas: TestGateway[] = [];

beforeAll(async () => {
  for (let i = 0; i < 2; i++)
    replicas.push(
      await startTestGateway({
        service: { rateLimits },
        platform: { bus: { kind: 'nats', natsServers: natsUrl } },
      }),
    );
});

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  const nc = await connect({ servers: natsUrl });
  await (await jetstreamManager(nc)).streams.delete(`KV_${bucket}`).catch(() => false);
  await nc.close();
});

/** Sends `count` requests, alternating between the replicas, `inFlight` at a time. */
async function alternate(
  count: number,
  request: (replica: TestGateway) => Promise<{ status: number }>,
  inFlight = 4,
): Promise<number[]> {
  const statuses: number[] = [];
  for (let start = 0; start < count; start += inFlight) {
    const batch = Array.from({ length: Math.min(inFlight, count - start) }, (_, i) =>
      request(replicas[(start + i) % replicas.length]!),
    );
    statuses.push(...(await Promise.all(batch)).map((r) => r.status));
  }
  return statuses;
}

describe('rate limits across gateway replicas', () => {
  test('when one client address sends requests to both replicas, then only the burst passes in total, and the rest is 429', async () => {
    const statuses = await alternate(30, (replica) => send(replica.url, { path: '/v1/products' }));

    expect(statuses.filter((s) => s === 200)).toHaveLength(burst);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30 - burst);
  });
});
