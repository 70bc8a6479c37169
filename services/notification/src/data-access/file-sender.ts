import { appendFile, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@orderly/platform';
import type { CustomerMessage } from '../domain/notification.js';
import type { Sender } from '../domain/sender.js';

/** Bytes read from the file at a time when catching up with it. */
const readChunkBytes = 1 << 20;

interface PendingLine {
  readonly message: CustomerMessage;
  readonly settle: (outcome: { written: boolean } | { error: unknown }) => void;
}

/**
 * The default sender: appends each message as one JSON line to a file (under `dataDir`), at most
 * once per notification id. The file itself is the record of what was sent: before writing, the
 * sender reads what was appended since it last looked (everything, after a restart) and skips a
 * message whose id already has a line. So a line is never repeated when the transaction around a
 * send is rolled back and replayed (a failed batch applied again event by event), nor when an
 * event is redelivered after a crash between the append and the commit, nor when another process
 * (a worker, a restarted service) appended it.
 *
 * Two sends of one id never race: the consumer sends only after inserting the order's
 * notification row, which makes any other transaction inserting it wait until this one ends — and
 * the line is complete before then. Sends that arrive together are written with one append, in
 * order; a torn last line (a crash mid-append) is ended first, so it never swallows the next one.
 * The ids of the file are kept in memory (about 100 bytes each).
 */
export class FileSender implements Sender {
  /** Notification ids that have a complete line in the file. */
  private readonly written = new Set<string>();
  /** The file has been read up to here: the end of its last complete line. */
  private readUpTo = 0;
  private pending: PendingLine[] = [];
  private writes: Promise<void> = Promise.resolve();
  private writeScheduled = false;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  async send(message: CustomerMessage): Promise<void> {
    const outcome = await new Promise<{ written: boolean } | { error: unknown }>((settle) => {
      this.pending.push({ message, settle });
      this.scheduleWrite();
    });
    if ('error' in outcome) throw outcome.error;
    // After the await, so the line carries the caller's trace.
    const fields = {
      orderId: message.orderId,
      notificationId: message.notificationId,
      kind: message.kind,
    };
    if (outcome.written) this.log.info(fields, 'customer notified');
    else this.log.info(fields, 'customer already notified, line not written again');
  }

  /** One write at a time; the sends that arrive meanwhile go together in the next. */
  private scheduleWrite(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    this.writes = this.writes.then(async () => {
      this.writeScheduled = false;
      const lines = this.pending.splice(0);
      try {
        const written = await this.appendNew(lines.map((p) => p.message));
        for (const [index, line] of lines.entries()) line.settle({ written: written[index]! });
      } catch (error) {
        for (const line of lines) line.settle({ error });
      }
    });
  }

  /** Appends the messages whose id has no line yet; answers, per message, whether it wrote it. */
  private async appendNew(messages: readonly CustomerMessage[]): Promise<boolean[]> {
    const torn = await this.catchUp();
    const fresh = new Set<string>();
    const outcome = messages.map((message) => {
      const id = message.notificationId;
      if (this.written.has(id) || fresh.has(id)) return false;
      fresh.add(id);
      return true;
    });
    if (fresh.size === 0) return outcome;
    const text = messages
      .filter((_, index) => outcome[index])
      .map((message) => `${JSON.stringify(message)}\n`)
      .join('');
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, torn ? `\n${text}` : text, 'utf8');
    for (const id of fresh) this.written.add(id);
    return outcome;
  }

  /**
   * Reads the complete lines appended since the last look and remembers their ids. Answers whether
   * the file ends in an unfinished line.
   */
  private async catchUp(): Promise<boolean> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.readUpTo = 0;
      return false;
    }
    try {
      const { size } = await handle.stat();
      // Shorter than what was read: replaced or truncated, so read it again from the start.
      if (size < this.readUpTo) this.readUpTo = 0;
      let rest = Buffer.alloc(0);
      let position = this.readUpTo;
      while (position < size) {
        const chunk = Buffer.alloc(Math.min(readChunkBytes, size - position));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        const text = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
        const end = text.lastIndexOf(0x0a) + 1;
        this.remember(text.subarray(0, end).toString('utf8'));
        this.readUpTo += end;
        rest = text.subarray(end);
      }
      return size > this.readUpTo;
    } finally {
      await handle.close();
    }
  }

  private remember(lines: string): void {
    for (const line of lines.split('\n')) {
      if (line === '') continue;
      try {
        const id = (JSON.parse(line) as { notificationId?: unknown }).notificationId;
        if (typeof id === 'string') this.written.add(id);
      } catch {
        // A torn line (a crash mid-append): its message was never fully written.
      }
    }
  }
}
