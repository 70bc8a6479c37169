import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@orderly/platform';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FileSender } from '../src/data-access/file-sender.js';
import type { CustomerMessage } from '../src/domain/notification.js';
import { notificationIdFor } from '../src/domain/notification-id.js';

let dir: string;
let file: string;
const log = createLogger({ service: 'notification', level: 'silent' });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orderly-file-sender-'));
  file = join(dir, 'out', 'notifications.jsonl');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function aMessage(orderId = randomUUID()): CustomerMessage {
  return {
    notificationId: notificationIdFor(orderId),
    orderId,
    customerId: 'customer-7',
    kind: 'ORDER_CONFIRMED',
    text: `Your order ${orderId} is confirmed.`,
  };
}

async function lines(): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '');
}

const orderIdsInFile = async () =>
  (await lines()).map((line) => (JSON.parse(line) as CustomerMessage).orderId);

describe('FileSender', () => {
  test('when one notification is sent twice, then its line is written once', async () => {
    const sender = new FileSender(file, log);
    const message = aMessage();

    await sender.send(message);
    await sender.send(message);

    expect(await orderIdsInFile()).toEqual([message.orderId]);
  });

  test('when messages are sent together, then each is written once, in the order sent', async () => {
    const sender = new FileSender(file, log);
    const messages = Array.from({ length: 5 }, () => aMessage());

    await Promise.all([...messages, messages[1]!, ...messages].map((m) => sender.send(m)));

    expect(await orderIdsInFile()).toEqual(messages.map((m) => m.orderId));
  });

  test('when the service restarts, then the ids already in the file are not written again', async () => {
    const before = [aMessage(), aMessage()];
    const first = new FileSender(file, log);
    for (const message of before) await first.send(message);

    const afterRestart = new FileSender(file, log);
    const next = aMessage();
    await afterRestart.send(before[1]!);
    await afterRestart.send(next);
    await afterRestart.send(before[0]!);

    expect(await orderIdsInFile()).toEqual([...before, next].map((m) => m.orderId));
  });

  test('when another process appended a line meanwhile, then this sender does not write it again', async () => {
    const worker1 = new FileSender(file, log);
    const worker2 = new FileSender(file, log);
    const message = aMessage();
    await worker1.send(aMessage());
    await worker2.send(aMessage());

    await worker1.send(message);
    await worker2.send(message);

    expect(await orderIdsInFile()).toHaveLength(3);
    expect((await orderIdsInFile()).filter((id) => id === message.orderId)).toHaveLength(1);
  });

  test('when the file ends in a line torn by a crash, then that message is written again on a line of its own', async () => {
    const kept = aMessage();
    const torn = aMessage();
    await new FileSender(file, log).send(kept);
    await appendFile(file, JSON.stringify(torn).slice(0, 40));

    const afterRestart = new FileSender(file, log);
    await afterRestart.send(torn);
    await afterRestart.send(kept);

    const all = await lines();
    expect(all).toHaveLength(3);
    expect(JSON.parse(all[0]!)).toEqual(kept);
    expect(() => JSON.parse(all[1]!) as unknown).toThrow();
    expect(JSON.parse(all[2]!)).toEqual(torn);
  });
});
