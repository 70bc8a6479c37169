import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { dependenciesOf, preflight } from '../src/preflight.js';

const servers: Server[] = [];
afterEach(() => Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r)))));

async function listening(): Promise<number> {
  const server = createServer((socket) => socket.destroy());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** A port that was just free: listen on it, then close. */
async function closedPort(): Promise<number> {
  const port = await listening();
  await new Promise((r) => servers.pop()?.close(r));
  return port;
}

describe('start:distributed preflight', () => {
  test('when PostgreSQL and NATS both accept connections, then there is nothing to report', async () => {
    const config = {
      postgres: { url: `postgres://postgres@127.0.0.1:${await listening()}/postgres` },
      bus: { natsServers: `nats://127.0.0.1:${await listening()}` },
    };

    expect(await preflight(dependenciesOf(config), 500)).toBeUndefined();
  });

  test('when NATS is on a closed port, then the message names it, its key and how to start it, and not PostgreSQL', async () => {
    const natsPort = await closedPort();
    const config = {
      postgres: { url: `postgres://postgres:secret@127.0.0.1:${await listening()}/postgres` },
      bus: { natsServers: `nats://127.0.0.1:${natsPort}` },
    };

    const message = await preflight(dependenciesOf(config), 500);

    expect(message).toContain(
      `NATS JetStream at 127.0.0.1:${natsPort} (bus.natsServers): connection refused`,
    );
    expect(message).toContain('apt-get install nats-server');
    expect(message).toContain('nats-server -js');
    expect(message).not.toContain('PostgreSQL at');
    expect(message).not.toContain('secret');
  });

  test('when PostgreSQL is on a closed port, then the message says how to start it on Debian/Ubuntu and macOS', async () => {
    const postgresPort = await closedPort();
    const config = {
      postgres: { url: `postgres://postgres@127.0.0.1:${postgresPort}/postgres` },
      bus: { natsServers: `nats://127.0.0.1:${await listening()}` },
    };

    const message = await preflight(dependenciesOf(config), 500);

    expect(message).toContain(
      `PostgreSQL at 127.0.0.1:${postgresPort} (postgres.url): connection refused`,
    );
    expect(message).toContain('apt-get install postgresql');
    expect(message).toContain('brew install postgresql@15');
  });
});
