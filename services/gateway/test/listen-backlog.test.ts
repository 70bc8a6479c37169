import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestGateway, type TestGateway } from './test-gateway.js';

/**
 * The gateway's accept queue is `http.listenBacklog` (config/default.yaml), not Node's 511: with
 * 511, a burst of 1,000 connections against a busy gateway overflowed it, the kernel answered with
 * SYN cookies and later reset those connections (docs/performance.md).
 */
let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway.stop();
});

/** The accept-queue length the kernel gave the listener on `port` (ss: Send-Q of a LISTEN socket). */
function listenBacklog(port: string): number {
  const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
  return Number(line.split(/\s+/)[2]);
}

describe('listen backlog', () => {
  test.skipIf(process.platform !== 'linux')(
    'when the gateway listens, then its accept queue is the configured backlog (capped by somaxconn), not 511',
    () => {
      const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));

      const backlog = listenBacklog(new URL(gateway.url).port);

      expect(backlog).toBe(Math.min(4096, somaxconn));
      expect(backlog).toBeGreaterThan(511);
    },
  );
});
