import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, test } from 'vitest';
import { connectNatsBus, type Delivery, type NatsBusOptions } from '../src/bus/index.js';
import { durableName } from '../src/bus/nats-bus.js';
import { aMessage, busContractSuite, eventually, subscriptionOptions } from './bus-contract.js';

const natsUrl = process.env.ORDERLY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const howToStartNats =
  'start NATS with JetStream: start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log';

let admin: NatsConnection | undefined;
async function adminConnection(): Promise<NatsConnection> {
  try {
    admin ??= await connect({ servers: natsUrl, timeout: 2_000 });
  } catch (cause) {
    throw new Error(`NATS is not reachable at ${natsUrl}; ${howToStartNats}`, { cause });
  }
  return admin;
}

afterAll(async () => {
  await admin?.close();
});

/** A bus on its own streams and subjects, so tests never see each other's messages. */
async function aNatsBus() {
  const jsm = await jetstreamManager(await adminConnection());
  const id = randomBytes(4).toString('hex');
  const prefix = `t${id}`;
  const streams = { stream: `TEST_${id}`, deadLetterStream: `TEST_${id}_DEAD` };
  const options = {
    servers: natsUrl,
    ...streams,
    duplicateWindowMs: 60_000,
    connectTimeoutMs: 2_000,
    name: 'bus-nats-test',
    subjects: [`${prefix}.events.>`],
    deadLetterSubjectPrefix: `${prefix}.deadletter`,
  } satisfies NatsBusOptions;
  const bus = await connectNatsBus(options);
  return {
    bus,
    options,
    subjectPrefix: `${prefix}.events`,
    cleanup: async () => {
      await bus.close();
      await jsm.streams.delete(streams.stream);
      await jsm.streams.delete(streams.deadLetterStream);
    },
  };
}

busContractSuite('NATS JetStream', aNatsBus, { keepsMessagesWhileStopped: true });

describe('NATS bus', () => {
  test('when a subject is outside the stream, then publish rejects', async () => {
    // Arrange
    const { bus, cleanup } = await aNatsBus();
    try {
      // Act
      const published = bus.publish([aMessage('nowhere.order.v1.OrderPlaced')]);
      // Assert
      await expect(published).rejects.toThrow(/not accepted/);
    } finally {
      await cleanup();
    }
  });

  test('when a second bus connects to existing streams and consumers, then it reuses them with the new settings', async () => {
    // Arrange
    const { bus, options, cleanup } = await aNatsBus();
    const subject = `${options.subjects[0]?.slice(0, -2)}.order.v1.OrderPlaced`;
    const first = await bus.subscribe(subscriptionOptions({ subjects: [subject] }), () =>
      Promise.resolve(),
    );
    await first.stop();
    const again = await connectNatsBus({ ...options, duplicateWindowMs: 30_000 });
    try {
      const received: Delivery[] = [];
      // Act
      await again.subscribe(
        subscriptionOptions({ subjects: [subject], ackWaitMs: 10_000 }),
        (d) => {
          received.push(d);
          return Promise.resolve();
        },
      );
      const message = aMessage(subject);
      await bus.publish([message]);
      // Assert
      await eventually(() => expect(received.map((d) => d.id)).toEqual([message.id]));
    } finally {
      await again.close();
      await cleanup();
    }
  });

  test('when the server answers, then ping resolves', async () => {
    const { bus, cleanup } = await aNatsBus();
    try {
      await expect(bus.ping()).resolves.toBeUndefined();
    } finally {
      await cleanup();
    }
  });

  test('when names hold characters durable names cannot, then the durable name is sanitized and still distinct', () => {
    const name = durableName('inventory.reserve-stock', 'events.order.v1.OrderPlaced');
    expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(name).toBe(durableName('inventory.reserve-stock', 'events.order.v1.OrderPlaced'));
    expect(name).not.toBe(durableName('inventory_reserve-stock', 'events.order.v1.OrderPlaced'));
    expect(durableName('a', 'events.>')).not.toBe(durableName('a', 'events.*'));
  });
});
