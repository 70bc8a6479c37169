import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { connectNatsBus, type Bus, type Delivery } from '@orderly/platform';
import { freePort } from '@orderly/platform/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NatsCluster } from '../src/cluster/nats-cluster.js';

/**
 * The bus on a three-node JetStream cluster (three nats-server processes, tools/chaos/src/cluster):
 * what `bus.streamReplicas: 3` and `bus.pullExpiresMs` promise when the node leading a stream or a
 * consumer dies. The cluster is the test's own (its ports, a temporary folder).
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-nats-cluster-test-'));
let cluster: NatsCluster;
const buses: Bus[] = [];

beforeAll(async () => {
  const nodes = [];
  for (let i = 0; i < 3; i++)
    nodes.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  cluster = new NatsCluster({ dir, nodes, deadAdvertisePort: await freePort() });
  await cluster.start();
}, 120_000);

afterAll(async () => {
  for (const bus of buses) await bus.close().catch(() => undefined);
  await cluster?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function aBus(servers: string[], pullExpiresMs?: number) {
  const id = randomBytes(4).toString('hex');
  const names = {
    stream: `CLUSTER_${id}`,
    deadLetterStream: `CLUSTER_${id}_DEAD`,
    subjects: [`c${id}.events.>`],
    deadLetterSubjectPrefix: `c${id}.deadletter`,
  };
  const bus = await connectNatsBus({
    servers,
    ...names,
    duplicateWindowMs: 120_000,
    streamReplicas: 3,
    ...(pullExpiresMs !== undefined ? { pullExpiresMs } : {}),
    name: 'nats-cluster-test',
  });
  buses.push(bus);
  return { bus, ...names, subject: `c${id}.events.order.v1.OrderPlaced` };
}

const message = (subject: string) => ({
  subject,
  id: randomUUID(),
  data: new Uint8Array([1, 2, 3]),
  headers: {},
});

/** Publishes until JetStream acknowledges (a stream without a leader refuses for a few seconds). */
async function publishAcknowledged(bus: Bus, subject: string, boundMs: number): Promise<void> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    try {
      return await bus.publish([message(subject)]);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

async function waitForLeaderOtherThan(stream: string, lost: string): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const info = await cluster.streamCluster(stream, { exclude: lost }).catch(() => undefined);
    if (info?.leader && info.leader !== lost) return info.leader;
    await sleep(200);
  }
  throw new Error(`no leader for ${stream} other than ${lost}`);
}

describe('bus on a three-node JetStream cluster', () => {
  test('when the node leading a 3-replica stream is killed with -9, then every acknowledged publish is still stored and publishing goes on', async () => {
    // Arrange
    const { bus, stream, subject } = await aBus(cluster.urls);
    for (let i = 0; i < 20; i++)
      await bus.publish(Array.from({ length: 10 }, () => message(subject)));
    const before = await cluster.streamCluster(stream);
    expect(before.numReplicas).toBe(3);
    const leader = before.leader!;

    // Act
    await cluster.node(leader).stop('SIGKILL');
    const newLeader = await waitForLeaderOtherThan(stream, leader);
    await publishAcknowledged(bus, subject, 30_000);

    // Assert
    const after = await cluster.streamCluster(stream, { exclude: leader });
    expect(newLeader).not.toBe(leader);
    expect(after.messages).toBe(201);
    await cluster.node(leader).start();
    const healed = await cluster.waitForStreamHealthy(stream, 60_000);
    expect(healed.replicas.every((r) => r.current)).toBe(true);
  }, 120_000);

  test('when the node leading a consumer is killed with -9, then the subscription receives the next message once another node leads it', async () => {
    // Arrange: the subscriber talks to one node only, and that node does not lead the consumer.
    const subscriberNode = cluster.nodes[0]!;
    const { bus, stream, subject } = await aBus([subscriberNode.url], 5000);
    const received: Delivery[] = [];
    const subscription = await bus.subscribe(
      {
        name: 'cluster-test.receiver',
        subjects: [subject],
        maxDeliver: 5,
        ackWaitMs: 30_000,
        retryBackoffMs: [100],
        concurrency: 4,
      },
      (delivery) => {
        received.push(delivery);
        return Promise.resolve();
      },
    );
    await bus.publish([message(subject)]);
    while (received.length < 1) await sleep(50);
    const nc = await connect({ servers: cluster.urls });
    const jsm = await jetstreamManager(nc);
    const [consumer] = await jsm.consumers.list(stream).next();
    let consumerLeader = consumer?.cluster?.leader;
    for (let i = 0; i < 10 && consumerLeader === subscriberNode.name; i++) {
      await nc.request(`$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.${consumer!.name}`, undefined, {
        timeout: 5000,
      });
      await sleep(2000);
      consumerLeader = (await jsm.consumers.info(stream, consumer!.name)).cluster?.leader;
    }
    await nc.close();
    expect(consumerLeader).toBeDefined();
    expect(consumerLeader).not.toBe(subscriberNode.name);
    const publisherUrl = cluster.nodes.find(
      (n) => n.name !== consumerLeader && n !== subscriberNode,
    )!.url;
    const publisher = await connectNatsBusLike(publisherUrl, stream, subject);

    // Act
    const killedAt = Date.now();
    await cluster.node(consumerLeader!).stop('SIGKILL');
    await publishAcknowledged(publisher, subject, 30_000);
    while (received.length < 2 && Date.now() - killedAt < 60_000) await sleep(100);

    // Assert (how long it was deaf is the cluster drill's figure, not a test's)
    expect(received.length).toBe(2);
    await subscription.stop();
    await cluster.node(consumerLeader!).start();
    await cluster.waitForStreamHealthy(stream, 60_000);
  }, 120_000);
});

/** A second bus on an existing stream, connected to one node (for publishing from elsewhere). */
async function connectNatsBusLike(server: string, stream: string, subject: string): Promise<Bus> {
  const prefix = subject.split('.')[0]!;
  const bus = await connectNatsBus({
    servers: [server],
    stream,
    deadLetterStream: `${stream}_DEAD`,
    subjects: [`${prefix}.events.>`],
    deadLetterSubjectPrefix: `${prefix}.deadletter`,
    duplicateWindowMs: 120_000,
    streamReplicas: 3,
    name: 'nats-cluster-test-publisher',
  });
  buses.push(bus);
  return bus;
}
