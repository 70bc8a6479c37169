import { createServer } from 'node:net';

/**
 * Ports handed out sit below Linux's default ephemeral range (32768-60999). A port the OS picked
 * with listen(0) is in that range, and once released it can become the local port of any outgoing
 * connection (a pooled connection to NATS or PostgreSQL lives for minutes): a service restarted on
 * it then fails with EADDRINUSE until that connection closes (seen in CI).
 */
const first = 20_000;
const last = 32_000;

/**
 * Ports already handed out by this process. A caller that asks for many ports before starting
 * anything (the cluster topology takes ~36) would otherwise get the same one twice now and then
 * (birthday odds ~5 % for 36 draws from 12,000): two processes told one port, one fails EADDRINUSE.
 */
const handedOut = new Set<number>();

/**
 * A port nothing listens on right now on 127.0.0.1, outside the ephemeral range: for a process a
 * test or tool starts that must be told its port in advance (and may be restarted on it).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = first + Math.floor(Math.random() * (last - first));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${first} and ${last}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
