import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createLogger } from '../src/log/index.js';
import { natsSharedState, type SharedState } from '../src/shared-state/index.js';

/** Two processes' worth of SharedState on one NATS server, sharing one key-value bucket. */
const natsUrl = process.env.ORDERLY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const bucket = `TEST_SHARED_${randomBytes(4).toString('hex')}`;
const log = createLogger({ service: 'test', level: 'silent' });
const opened: SharedState[] = [];

const open = async (overrides: { servers?: string[]; operationTimeoutMs?: number } = {}) => {
  const state = await natsSharedState({
    servers: overrides.servers ?? [natsUrl],
    connectTimeoutMs: 2000,
    name: 'orderly-test-shared-state',
    bucket,
    entryTtlMs: 60_000,
    maxBytes: 1024 * 1024,
    replicas: 1,
    operationTimeoutMs: overrides.operationTimeoutMs ?? 2000,
    maxAttempts: 8,
    roundIntervalMs: 2,
    reconnectIntervalMs: 60_000,
    log,
  });
  opened.push(state);
  return state;
};

afterAll(async () => {
  for (const state of opened) await state.close();
  const nc = await connect({ servers: natsUrl });
  await (await jetstreamManager(nc)).streams.delete(`KV_${bucket}`).catch(() => false);
  await nc.close();
});

const increment = (current: string | undefined) => {
  const value = String(Number(current ?? '0') + 1);
  return { value, result: Number(value) };
};

describe('natsSharedState', () => {
  test('when two instances increment one key at the same time, round after round, then no increment is lost and every result is distinct', async () => {
    // Arrange
    const [a, b] = [await open(), await open()];
    // Each instance keeps rounds going: 4 chains of 40 updates, each waiting for its previous one.
    const chain = async (state: SharedState) => {
      const results: number[] = [];
      for (let i = 0; i < 40; i++) results.push(await state.update('count', increment));
      return results;
    };

    // Act
    const results = (
      await Promise.all([a, a, a, a, b, b, b, b].map((state) => chain(state)))
    ).flat();

    // Assert: every value from 1 to 320 answered exactly once, and the record holds 320.
    expect([...results].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 320 }, (_, i) => i + 1),
    );
    expect(await a.update('count', (current) => ({ value: current ?? '', result: current }))).toBe(
      '320',
    );
  });

  test('when keys hold any characters, then each is its own record', async () => {
    const state = await open();
    for (const key of ['address:::1', 'user:a.b*>', 'login-account:x@y.z', ''])
      expect(await state.update(key, increment), key).toBe(1);
    expect(await state.update('address:::1', increment)).toBe(2);
  });

  test('when NATS cannot be reached, then opening does not fail and every update is refused at once as SHARED_STATE_UNAVAILABLE', async () => {
    const started = Date.now();
    const state = await open({ servers: ['nats://127.0.0.1:1'] });
    const refusal = await state.update('k', increment).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'SHARED_STATE_UNAVAILABLE', kind: 'unavailable' });
    // Refused without waiting for a server: within the connect attempt, not the update timeouts.
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
