import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { eventually, testWorkloadKeysDir } from '@orderly/platform/testing';
import type { CommandIo } from '../src/command-line.js';
import { runDoctor } from '../src/doctor-command.js';

/**
 * `orderly doctor --watch` redraws its table after every poll until Ctrl-C, then prints the verdict
 * with the exit code of a normal run. A small HTTP server stands in for a service's operator port:
 * it answers `/admin/debug/resources` with one more Timeout handle at every poll.
 */
const servers: Server[] = [];
afterEach(() => Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r)))));

async function leakingOperatorPort(): Promise<{ port: number; authorizations: () => string[] }> {
  let polls = 0;
  const authorizations: string[] = [];
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization ?? '');
    polls++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        service: 'order',
        collectedAt: new Date().toISOString(),
        process: {
          pid: 4242,
          hostname: 'stand-in',
          startedAt: '2026-01-31T09:00:00.000Z',
          uptimeSeconds: 1,
          nodeVersion: 'v26.0.0',
        },
        resources: { total: 20 + polls * 20, byType: { Timeout: 20 + polls * 20 } },
        listeners: { total: 3, byEvent: { exit: 3 } },
        eventLoop: { utilization: 0.01, delay: null },
        heap: {
          usedBytes: 40e6,
          totalBytes: 50e6,
          limitBytes: 2e9,
          externalBytes: 0,
          mallocedBytes: 0,
          detachedContexts: 0,
          nativeContexts: 1,
          spaces: [],
          afterFullGc: req.url?.endsWith('?gc=1') ?? false,
        },
        database: null,
        outbox: null,
        bus: null,
      }),
    );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, authorizations: () => authorizations };
}

describe('orderly doctor --watch', () => {
  test('when watching, then the table is redrawn after every poll, and Ctrl-C ends the run with the verdict and exit code 1 for what grows', async () => {
    const { port, authorizations } = await leakingOperatorPort();
    const frames: string[] = [];
    const io: CommandIo = { out: (t) => void frames.push(t), err: () => undefined };
    let interrupt = (): void => undefined;

    const run = runDoctor(
      [
        '--watch',
        '--interval',
        '50ms',
        '--service',
        'order',
        '--set',
        `services.order.operatorPort=${port}`,
        '--set',
        `workloadIdentity.keysDir=${testWorkloadKeysDir}`,
      ],
      io,
      {
        terminal: true,
        onInterrupt: (handler) => {
          interrupt = handler;
          return () => undefined;
        },
      },
    );
    await eventually(() => expect(frames.length).toBeGreaterThanOrEqual(4));
    interrupt();

    expect(await run).toBe(1);
    const clear = '\x1b[H\x1b[2J';
    expect(frames.every((frame) => frame.startsWith(clear))).toBe(true);
    expect(frames[0]).toContain(
      'orderly doctor --watch: 1 service in 1 process, 1 sample over 0 s (every 0.1 s); Ctrl-C ends the run with its verdict',
    );
    expect(frames[0]).not.toContain('UNHEALTHY');
    const verdict = frames[frames.length - 1]!;
    expect(verdict.startsWith(`${clear}orderly doctor: 1 service in 1 process, `)).toBe(true);
    expect(verdict).toMatch(/handles Timeout +\d+ +\d+ +\+\d+ +\+10 +GROWS/);
    expect(verdict).toContain('handles of type Timeout grew by');
    // Every poll was signed as the operator workload.
    expect(authorizations().every((a) => a.startsWith('Bearer '))).toBe(true);
  });
});
