import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '@orderly/platform/testing';

/**
 * A NATS JetStream server of the bench's own (`--own-nats`): a free port, file storage in the run's
 * folder, the same flags as the machine's shared server (`-js`, default sync), so the NATS row of a
 * run counts this run's messages only and not other work on the shared server.
 */
export class OwnNatsServer {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(storeDir: string, startTimeoutMs: number): Promise<OwnNatsServer> {
    const binary =
      process.env.ORDERLY_CHAOS_NATS_SERVER ??
      (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');
    mkdirSync(storeDir, { recursive: true });
    const port = await freePort();
    const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
      stdio: 'ignore',
    });
    const server = new OwnNatsServer(child, port);
    const deadline = Date.now() + startTimeoutMs;
    while (!(await listening(port))) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        server.kill();
        throw new Error(`${binary} did not listen on port ${port} (is nats-server installed?)`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return server;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
