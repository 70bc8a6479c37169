import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@orderly/platform/testing';
import { checkInvariants } from './invariants.js';
import { createCatalogAsAdmin, placeOrderMix } from './order-mix.js';
import { DistributedSystem } from './system-harness.js';

/**
 * The worker-count knob (`workers.count.<service>`): the gateway and the order service each run as a
 * supervisor with two worker processes sharing one port; the saga works as with one process, a
 * worker that dies is replaced, and SIGTERM stops the whole group with exit code 0.
 */
let system: DistributedSystem;
let stockAtStart: Record<string, number>;

const childPids = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);

beforeAll(async () => {
  system = await DistributedSystem.start({
    ORDERLY_WORKERS__COUNT__ORDER: '2',
    ORDERLY_WORKERS__COUNT__GATEWAY: '2',
    ORDERLY_WORKERS__RESTART_DELAY_MS: '200',
  });
  stockAtStart = await createCatalogAsAdmin(system.url('gateway'));
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await system?.cleanup();
});

describe('worker processes per service', () => {
  test('when order and gateway run two workers each, then each worker runs the service and every invariant holds', async () => {
    const orderPid = system.processes.get('order')!.pid!;
    const orderWorkers = childPids(orderPid);
    expect(orderWorkers).toHaveLength(2);
    expect(childPids(system.processes.get('gateway')!.pid!)).toHaveLength(2);

    const { accepted, rejected } = await placeOrderMix(system.url('gateway'), 150, 30);

    expect(rejected, system.output.tail()).toEqual([]);
    // No worker died under load and had to be replaced.
    expect(childPids(orderPid), system.output.tail()).toEqual(orderWorkers);
    // Each worker runs the whole service, its own outbox relay included: what a worker commits is
    // handed to its relay (no LISTEN connection since publish on commit); the invariants include
    // 'every outbox drained'.
    await checkInvariants(system, accepted, stockAtStart);
  });

  test('when a worker is killed with -9, then the supervisor starts another and orders are still accepted', async () => {
    const orderPid = system.processes.get('order')!.pid!;
    const [victim] = childPids(orderPid);
    process.kill(victim!, 'SIGKILL');
    await eventually(
      () => {
        const now = childPids(orderPid);
        expect(now).toHaveLength(2);
        expect(now).not.toContain(victim);
      },
      { timeoutMs: 30_000 },
    );
    await system.waitReady('order');

    const { accepted, rejected } = await placeOrderMix(system.url('gateway'), 40, 10);

    expect(rejected, system.output.tail()).toEqual([]);
    await checkInvariants(system, accepted, stockAtStart);
  });

  test('when the supervisors get SIGTERM, then they and their workers stop with exit code 0', async () => {
    const workerPids = [
      ...childPids(system.processes.get('order')!.pid!),
      ...childPids(system.processes.get('gateway')!.pid!),
    ];
    const codes = await system.stop();
    expect(codes, system.output.tail(40)).toMatchObject({ order: 0, gateway: 0 });
    for (const pid of workerPids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
