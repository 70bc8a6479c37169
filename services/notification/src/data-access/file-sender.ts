import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@orderly/platform';
import type { CustomerMessage } from '../domain/notification.js';
import type { Sender } from '../domain/sender.js';

/**
 * The default sender: appends each message as one JSON line to a file (under `dataDir`).
 * A line is written with a single append, so lines never interleave within this process.
 */
export class FileSender implements Sender {
  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  async send(message: CustomerMessage): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(message)}\n`, 'utf8');
    this.log.info(
      { orderId: message.orderId, notificationId: message.notificationId, kind: message.kind },
      'customer notified',
    );
  }
}
