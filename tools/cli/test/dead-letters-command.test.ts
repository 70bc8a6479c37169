import { randomBytes, randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import { busHeaders, connectNatsBus, type Bus } from '@orderly/platform';
import { eventually } from '@orderly/platform/testing';
import { orderly } from './orderly-process.js';

/**
 * `orderly dead-letters redrive` publishes again only what the operator named: the ids given with
 * `--id`, or every dead letter with `--all`. Without either, or with a misspelt flag, it redrives
 * nothing. Runs the real command against dead letters in NATS streams of the test's own.
 */
const natsUrl = process.env.ORDERLY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

interface DeadLetters {
  bus: Bus;
  /** The settings that point the CLI at this bus's streams. */
  settings: string[];
  ids: string[];
}

/** `count` dead letters in streams of their own (a permanently failing subscription). */
async function deadLetters(count: number): Promise<DeadLetters> {
  const id = randomBytes(4).toString('hex');
  const bus = {
    stream: `CLI_${id}`,
    deadLetterStream: `CLI_${id}_DEAD`,
    subjectPrefix: `t${id}events`,
    deadLetterSubjectPrefix: `t${id}deadletter`,
  };
  const settings = [
    '--bus.kind=nats',
    `--bus.natsServers=${natsUrl}`,
    ...Object.entries(bus).map(([key, value]) => `--bus.${key}=${value}`),
  ];
  const nats = await connectNatsBus({
    servers: natsUrl,
    stream: bus.stream,
    deadLetterStream: bus.deadLetterStream,
    duplicateWindowMs: 120_000,
    connectTimeoutMs: 2_000,
    subjects: [`${bus.subjectPrefix}.>`],
    deadLetterSubjectPrefix: bus.deadLetterSubjectPrefix,
    name: 'cli-test',
  });
  cleanups.push(async () => {
    await nats.close();
    const admin = await connect({ servers: natsUrl, timeout: 2_000 });
    const jsm = await jetstreamManager(admin);
    await jsm.streams.delete(bus.stream);
    await jsm.streams.delete(bus.deadLetterStream);
    await admin.close();
  });
  const subject = `${bus.subjectPrefix}.test.v1.Poisoned`;
  const subscription = await nats.subscribe(
    {
      name: 'cli-test.poisoned',
      subjects: [subject],
      maxDeliver: 1,
      ackWaitMs: 30_000,
      retryBackoffMs: [10],
      concurrency: 1,
    },
    () => Promise.reject(Object.assign(new Error('not a valid payload'), { permanent: true })),
  );
  await nats.publish(
    Array.from({ length: count }, () => {
      const eventId = randomUUID();
      return {
        subject,
        id: eventId,
        data: new TextEncoder().encode(eventId),
        headers: { [busHeaders.eventType]: 'test.v1.Poisoned' },
      };
    }),
  );
  const letters = await eventually(async () => {
    const found = await nats.listDeadLetters();
    expect(found).toHaveLength(count);
    return found;
  });
  // Redriven messages wait in the events stream: nothing consumes them again.
  await subscription.stop();
  return { bus: nats, settings, ids: letters.map((l) => l.id) };
}

const remaining = async (letters: DeadLetters) =>
  (await letters.bus.listDeadLetters()).map((l) => l.id).sort();

describe('orderly dead-letters redrive', () => {
  let letters: DeadLetters;
  beforeEach(async () => {
    letters = await deadLetters(3);
  });

  test('when the ids flag is misspelt (--ids), then it exits 2 naming the flag and redrives nothing', async () => {
    const result = await orderly([
      'dead-letters',
      'redrive',
      '--ids',
      letters.ids[0]!,
      ...letters.settings,
    ]);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--ids'/);
    expect(result.stderr).toMatch(/usage: orderly dead-letters redrive/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await remaining(letters)).toEqual([...letters.ids].sort());
  });

  test('when neither ids nor --all are given, then it redrives nothing, says to pass --all or --id, and exits non-zero', async () => {
    const result = await orderly(['dead-letters', 'redrive', ...letters.settings]);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--all/);
    expect(result.stderr).toMatch(/--id/);
    expect(result.stdout).toBe('');
    expect(await remaining(letters)).toEqual([...letters.ids].sort());
  });

  test('when --help is given, then it prints the usage, exits 0 and redrives nothing', async () => {
    const result = await orderly([
      'dead-letters',
      'redrive',
      '--all',
      '--help',
      ...letters.settings,
    ]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/usage: orderly dead-letters redrive/);
    expect(await remaining(letters)).toEqual([...letters.ids].sort());
  });

  test('when ids are given with --id, then only those are redriven', async () => {
    const [first, second, third] = letters.ids as [string, string, string];

    const result = await orderly([
      'dead-letters',
      'redrive',
      '--id',
      first,
      `--id=${third}`,
      ...letters.settings,
    ]);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('redriven: 2\n');
    expect(await remaining(letters)).toEqual([second]);
  });

  test('when --all is given, then every dead letter is redriven', async () => {
    const result = await orderly(['dead-letters', 'redrive', '--all', ...letters.settings]);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('redriven: 3\n');
    expect(await remaining(letters)).toEqual([]);
  });
});

describe('orderly dead-letters list', () => {
  test('when listed as JSON, then each dead letter shows its subscription, subject and error', async () => {
    const letters = await deadLetters(1);

    const result = await orderly(['dead-letters', 'list', '--json', ...letters.settings]);

    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      expect.objectContaining({
        id: letters.ids[0],
        subscription: 'cli-test.poisoned',
        error: expect.stringContaining('not a valid payload') as unknown,
      }),
    ]);
  });
});
