import { connect, type Socket } from 'node:net';

/**
 * One keep-alive HTTP/1.1 connection with a minimal response parser (status line, Content-Length
 * or chunked body). Much cheaper per request than node:http's client, so the load generator's own
 * CPU stays a small, reported share of the machine. One request at a time (no pipelining).
 */
export interface ResponseInfo {
  readonly status: number;
  readonly body: Buffer;
  /** The answer's Retry-After (seconds form), in ms; undefined when absent. */
  readonly retryAfterMs: number | undefined;
}

type Pending = (error: Error | undefined, response?: ResponseInfo) => void;

const headerEnd = Buffer.from('\r\n\r\n');
const crlf = Buffer.from('\r\n');

export class HttpConnection {
  private socket: Socket | undefined;
  private connecting: Promise<void> | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private status = 0;
  private retryAfterMs: number | undefined;
  private bodyLength = -1;
  private chunked = false;
  private headerLength = -1;
  private closeAfter = false;
  private chunks: Buffer[] = [];
  busy = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  private open(): Promise<void> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve();
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port, noDelay: true });
      socket.once('connect', () => {
        this.connecting = undefined;
        resolve();
      });
      // Events of a socket this connection already replaced must not touch the current request.
      socket.on('data', (chunk: Buffer) => {
        if (this.socket === socket) this.onData(chunk);
      });
      socket.on('error', (error) => {
        if (this.socket !== socket) return;
        this.connecting = undefined;
        this.fail(error);
        reject(error);
      });
      socket.on('close', () => {
        if (this.socket !== socket) return;
        this.connecting = undefined;
        this.fail(new Error('connection closed'));
      });
      this.socket = socket;
    });
    return this.connecting;
  }

  /** Sends `request` (complete bytes) and calls `done` with the response or an error. */
  send(request: Buffer | string, done: Pending): void {
    this.busy = true;
    this.pending = done;
    this.resetResponse();
    if (this.socket && !this.socket.destroyed && !this.connecting) {
      this.socket.write(request);
      return;
    }
    this.open().then(
      () => this.socket?.write(request),
      () => {
        // fail() already reported the error to `done`
      },
    );
  }

  /** Closes the socket; a request still waiting fails with `reason`. */
  destroy(reason = 'connection destroyed'): void {
    if (this.pending) {
      this.fail(new Error(reason));
      return;
    }
    this.socket?.destroy();
    this.socket = undefined;
  }

  private resetResponse(): void {
    this.buffer = Buffer.alloc(0);
    this.status = 0;
    this.bodyLength = -1;
    this.chunked = false;
    this.headerLength = -1;
    this.closeAfter = false;
    this.chunks = [];
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    this.busy = false;
    this.socket?.destroy();
    this.socket = undefined;
    pending?.(error);
  }

  private finish(body: Buffer): void {
    const pending = this.pending;
    this.pending = undefined;
    this.busy = false;
    const status = this.status;
    const retryAfterMs = this.retryAfterMs;
    if (this.closeAfter) this.destroy();
    this.resetResponse();
    pending?.(undefined, { status, body, retryAfterMs });
  }

  private onData(chunk: Buffer): void {
    if (!this.pending) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.headerLength < 0) {
      const end = this.buffer.indexOf(headerEnd);
      if (end < 0) return;
      const head = this.buffer.toString('latin1', 0, end).toLowerCase();
      this.status = Number(head.slice(9, 12));
      this.headerLength = end + 4;
      const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
      if (length?.[1]) this.bodyLength = Number(length[1]);
      this.chunked = /\r\ntransfer-encoding:\s*chunked/.test(head);
      this.closeAfter = /\r\nconnection:\s*close/.test(head);
      const retryAfter = /\r\nretry-after:\s*(\d+)/.exec(head);
      this.retryAfterMs = retryAfter?.[1] ? Number(retryAfter[1]) * 1000 : undefined;
      if (!this.chunked && this.bodyLength < 0) this.bodyLength = 0;
      this.buffer = this.buffer.subarray(this.headerLength);
    }
    if (!this.chunked) {
      if (this.buffer.length >= this.bodyLength)
        this.finish(this.buffer.subarray(0, this.bodyLength));
      return;
    }
    // chunked: <hex size>\r\n<data>\r\n ... 0\r\n\r\n
    for (;;) {
      const lineEnd = this.buffer.indexOf(crlf);
      if (lineEnd < 0) return;
      const size = parseInt(this.buffer.toString('latin1', 0, lineEnd), 16);
      if (Number.isNaN(size)) {
        this.fail(new Error('malformed chunked response'));
        return;
      }
      const needed = lineEnd + 2 + size + 2;
      if (this.buffer.length < needed) return;
      if (size === 0) {
        this.finish(Buffer.concat(this.chunks));
        return;
      }
      this.chunks.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      this.buffer = this.buffer.subarray(needed);
    }
  }
}
