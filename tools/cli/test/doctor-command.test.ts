import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { openFlags } from '@orderly/platform';
import { freePort, startTestService, testWorkloadKeysDir } from '@orderly/platform/testing';
import { orderService } from '@orderly/order';
import { runProgram, type CommandIo } from '../src/command-line.js';
import { orderlyProgram } from '../src/commands.js';
import { orderly } from './orderly-process.js';

/**
 * `orderly doctor` against a running service (issue 19, items 2 and 3): with the fault flag
 * `fault-timer-leak-every-ms` on, the service leaks a timer every 50 ms, and the doctor, polling for
 * 5 s, exits 1 naming the growing handle type (Timeout); with the flag off it exits 0. Run as the
 * operator runs it: the real entry point, the service found through its configured operator port.
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-doctor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The order service with the timer leak at `everyMs` (0: off), through a flags file of its own. */
async function startOrder(everyMs: number) {
  const file = join(dir, `flags-${everyMs}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      flags: {
        'fault-timer-leak-every-ms': {
          state: 'ENABLED',
          variants: { current: everyMs },
          defaultVariant: 'current',
        },
      },
    }),
  );
  const flags = await openFlags({ file, retryIntervalMs: () => 5000 });
  const service = await startTestService(orderService, { flags });
  const port = new URL(service.runtime.operatorUrl ?? '').port;
  return {
    port,
    stop: async () => {
      await service.stop();
      await flags.close();
    },
  };
}

/** Polls the order service only, as the operator (the tests' keys), for 5 s unless told. */
const doctor = (operatorPort: string, { duration = '5s', extra = [] as string[] } = {}) =>
  orderly([
    'doctor',
    '--service',
    'order',
    '--duration',
    duration,
    '--interval',
    '1s',
    `--set`,
    `services.order.operatorPort=${operatorPort}`,
    '--set',
    `workloadIdentity.keysDir=${testWorkloadKeysDir}`,
    // This test is about handles: a busy test machine must not fail it on event-loop delay.
    '--set',
    'doctor.thresholds.eventLoopDelayP99Ms=60000',
    ...extra,
  ]);

describe('orderly doctor against a running service', () => {
  test('when no fault flag is on, then after 5 s of polling it reports every check ok and exits 0 (--json)', async () => {
    const order = await startOrder(0);
    try {
      const result = await doctor(order.port, { extra: ['--json'] });

      const report = JSON.parse(result.stdout) as {
        healthy: boolean;
        samples: number;
        processes: { services: string[] }[];
        checks: { check: string; verdict: string }[];
        problems: string[];
      };
      expect(report).toMatchObject({ healthy: true, samples: 6, problems: [] });
      expect(report.processes).toEqual([expect.objectContaining({ services: ['order'] })]);
      expect(report.checks.filter((c) => c.verdict !== 'ok')).toEqual([]);
      expect(report.checks.map((c) => c.check)).toEqual(
        expect.arrayContaining([
          'handles Timeout',
          'heap after full GC',
          'outbox backlog',
          'dead letters',
        ]),
      );
      expect(result.code).toBe(0);
    } finally {
      await order.stop();
    }
  });

  test('when fault-timer-leak-every-ms leaks a timer every 50 ms, then within 5 s of polling it exits 1 naming Timeout as the handle type that grows', async () => {
    const order = await startOrder(50);
    try {
      const result = await doctor(order.port);

      expect(result.stdout).toMatch(
        /^orderly doctor: 1 service in 1 process, 6 samples over [\d.]+ s \(every 1 s\)\n/,
      );
      expect(result.stdout).toMatch(/ {2}handles Timeout +\d+ +\d+ +\+\d+ +\+10 +GROWS\n/);
      expect(result.stdout).toMatch(/ {2}outbox backlog +0 +0 +\+0 +\+100 +ok\n/);
      expect(result.stdout).toMatch(
        /UNHEALTHY: 1 problem\n {2}- process \d+ on .+ \(order\): handles of type Timeout grew by \+\d+ in [\d.]+ s \(limit \+10\)\n$/,
      );
      expect(result.code).toBe(1);
    } finally {
      await order.stop();
    }
  });
});

describe('orderly debug cpu-profile', () => {
  test("when asked for a service's profile, then it writes the .cpuprofile its operator port answers", async () => {
    const order = await startOrder(0);
    const out = join(dir, 'order.cpuprofile');
    try {
      const result = capture();

      const code = await runProgram(
        orderlyProgram,
        [
          'debug',
          'cpu-profile',
          '--service',
          'order',
          '--seconds',
          '1',
          '--out',
          out,
          '--set',
          `services.order.operatorPort=${order.port}`,
          '--set',
          `workloadIdentity.keysDir=${testWorkloadKeysDir}`,
        ],
        result.io,
      );

      expect(code).toBe(0);
      expect(result.out()).toMatch(
        /order\.cpuprofile \([\d.]+ KiB\): open it in Chrome DevTools → Performance → Load profile\n$/,
      );
      const profile = JSON.parse(readFileSync(out, 'utf8')) as {
        nodes: unknown[];
        samples: number[];
      };
      expect(profile.nodes.length).toBeGreaterThan(0);
      expect(Array.isArray(profile.samples)).toBe(true);
    } finally {
      await order.stop();
    }
  });
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

describe('orderly doctor refuses what it cannot do', () => {
  test.each([
    [['--duration', 'soon'], "--duration 'soon' is not a time like 20s, 1500ms or 2m"],
    [['--interval', '0s'], "--interval '0s' is not a time like 2s or 500ms"],
    [['--service', 'billing'], "unknown service 'billing' (one of order, inventory"],
    [['--servce', 'order'], "unknown option '--servce'"],
  ])(
    'when given %j, then it exits 2 naming the problem and polls nothing',
    async (args, problem) => {
      const result = capture();

      expect(await runProgram(orderlyProgram, ['doctor', ...args], result.io)).toBe(2);

      expect(result.err()).toContain(`orderly doctor: ${problem}`);
      expect(result.err()).toContain('\nusage: orderly doctor [--duration <time>]');
      expect(result.out()).toBe('');
    },
  );

  test('when a service does not answer on its operator port, then it exits 1 at once naming the service and the address', async () => {
    const port = await freePort();
    const result = capture();

    const code = await runProgram(
      orderlyProgram,
      [
        'doctor',
        '--service',
        'payment',
        '--set',
        `services.payment.operatorPort=${port}`,
        '--set',
        `workloadIdentity.keysDir=${testWorkloadKeysDir}`,
      ],
      result.io,
    );

    expect(code).toBe(1);
    expect(result.err()).toContain(
      `cannot poll every service's operator port:\n  payment at http://127.0.0.1:${port}: ECONNREFUSED\n`,
    );
    expect(result.out()).toBe('');
  });
});
