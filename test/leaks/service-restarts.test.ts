import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString, getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, test } from 'vitest';
import { OrderService, OrderStatus } from '@orderly/order-contract/order_service';
import {
  MemoryBus,
  createRpcClient,
  type AnyServiceDefinition,
  type ServiceResources,
} from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  freePort,
  startTestService,
  testCaller,
  testServiceConfig,
  testWorkloadIdentity,
  type TestService,
} from '@orderly/platform/testing';
import { services } from '@orderly/system';

/**
 * Leak patrol (issue 19, item 3): every service of the registry is started and stopped many times in
 * one process, alone and as a whole system under load, and what the process holds afterwards — handles
 * by type (timers, sockets, servers, ...), listeners on `process`, heap after a full GC — must not grow
 * from one cycle to the next beyond a bound. The first cycles are warm-up (modules load, pools and
 * caches fill once); the bounds are counts, never durations. And a stopped service must be garbage:
 * once the test lets go of it, nothing may keep its runtime reachable (a leak of a whole service per
 * restart, as the flags module had, shows there before it shows in bytes).
 */
const cycles = 4;
/** Cycles before the reference: one-time allocations (module state, JIT, caches) happen there. */
const warmUp = 2;
type Bounds = Readonly<{
  handlesPerType: number;
  processListeners: number;
  heapAfterGcBytes: number;
}>;
/** After a stop everything the service opened is closed: the counts come back exactly. */
const stoppedBounds: Bounds = {
  /** More handles of one type after the last cycle than after the reference one. */
  handlesPerType: 2,
  processListeners: 1,
  heapAfterGcBytes: 2 * 1024 * 1024,
};
/**
 * While the system runs, connections in the pools and their keep-alive timers come and go with the
 * load of the moment, so one reading per cycle is compared with looser bounds (the doctor's defaults).
 */
const runningBounds: Bounds = {
  handlesPerType: 10,
  processListeners: 5,
  heapAfterGcBytes: 8 * 1024 * 1024,
};
const definitions: readonly AnyServiceDefinition[] = services;
const dataDir = mkdtempSync(join(tmpdir(), 'orderly-leak-patrol-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Figures {
  readonly handles: Record<string, number>;
  readonly listeners: number;
  readonly heapAfterGcBytes: number;
}

function processFigures(): Figures {
  gc();
  const handles: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) handles[type] = (handles[type] ?? 0) + 1;
  const listeners = process
    .eventNames()
    .reduce((sum, event) => sum + process.listenerCount(event), 0);
  return { handles, listeners, heapAfterGcBytes: getHeapStatistics().used_heap_size };
}

/**
 * The figures once closing handles have closed: sockets and file requests finish a few ticks after a
 * stop resolves, so read until two readings agree (or give up after a bounded number of readings).
 */
async function settledFigures(): Promise<Figures> {
  let previous = processFigures();
  for (let reading = 0; reading < 40; reading++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const current = processFigures();
    if (JSON.stringify(current.handles) === JSON.stringify(previous.handles)) return current;
    previous = current;
  }
  return previous;
}

/** What grew from `reference` to `last` beyond the bounds, as readable lines (empty: nothing). */
function growth(reference: Figures, last: Figures, bounds: Bounds = stoppedBounds): string[] {
  const problems: string[] = [];
  const types = new Set([...Object.keys(reference.handles), ...Object.keys(last.handles)]);
  for (const type of types) {
    const grew = (last.handles[type] ?? 0) - (reference.handles[type] ?? 0);
    if (grew > bounds.handlesPerType)
      problems.push(`${type} handles +${grew} (bound +${bounds.handlesPerType})`);
  }
  if (last.listeners - reference.listeners > bounds.processListeners)
    problems.push(
      `process listeners +${last.listeners - reference.listeners} (bound +${bounds.processListeners})`,
    );
  const heap = last.heapAfterGcBytes - reference.heapAfterGcBytes;
  if (heap > bounds.heapAfterGcBytes)
    problems.push(
      `heap after GC +${(heap / 1024 / 1024).toFixed(1)} MiB (bound +${bounds.heapAfterGcBytes / 1024 / 1024} MiB)`,
    );
  return problems;
}

/** How many of these stopped runtimes are still reachable after a full GC (should be none). */
async function stillReachable(stopped: readonly WeakRef<object>[]): Promise<number> {
  // A WeakRef's target is kept until the job that made or read it ends: let it end first.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return stopped.filter((ref) => ref.deref() !== undefined).length;
}

describe.each(definitions.map((d) => [d.name, d] as const))('%s', (name, definition) => {
  test(`when ${name} is started and stopped ${cycles} times in one process, then no handle type, process listener or heap after GC grows beyond its bound`, async () => {
    const config = testServiceConfig(name, definition.configSchema, { platform: { dataDir } });
    const database = (config.service as { database?: string }).database;
    const after: Figures[] = [];
    const runtimes: WeakRef<object>[] = [];
    // In a function of its own, so no variable of the test's keeps the last service.
    const startAndStop = async () => {
      const service = await startTestService(definition, { config, keepDatabase: true });
      runtimes.push(new WeakRef(service.runtime));
      await service.stop();
    };
    try {
      for (let cycle = 0; cycle < cycles; cycle++) {
        await startAndStop();
        after.push(await settledFigures());
      }
    } finally {
      if (database) await dropTestDatabase(config.platform.postgres.url, database);
    }
    expect({
      growth: growth(after[warmUp - 1]!, after[cycles - 1]!),
      stoppedRuntimesStillReachable: await stillReachable(runtimes),
    }).toEqual({ growth: [], stoppedRuntimesStillReachable: 0 });
  });
});

describe('the whole system under load', () => {
  test(`when every service is started together, orders are placed and settled, and all are stopped, ${cycles} times, then the process holds no more after the last cycle than after the warm-up`, async () => {
    const ports = Object.fromEntries(
      await Promise.all(definitions.map(async (d) => [d.name, await freePort()] as const)),
    );
    const url = (service: string) => `http://127.0.0.1:${ports[service]}`;
    const configs = definitions.map((definition) =>
      testServiceConfig(definition.name, definition.configSchema, {
        platform: { dataDir },
        service: {
          port: ports[definition.name],
          ...(definition.name === 'gateway'
            ? {
                orderServiceUrl: url('order'),
                inventoryServiceUrl: url('inventory'),
                identityServiceUrl: url('identity'),
              }
            : {}),
        },
      }),
    );
    const operator = await testWorkloadIdentity('operator');
    const orders = createRpcClient(OrderService, {
      baseUrl: url('order'),
      defaultTimeoutMs: 10_000,
      identity: await testCaller('gateway', 'order'),
    });
    const resources = async (service: TestService<unknown>, gc = false) => {
      const response = await fetch(
        `${service.runtime.operatorUrl ?? ''}/admin/debug/resources${gc ? '?gc=1' : ''}`,
        { headers: { authorization: await operator.authorization(service.runtime.options.name) } },
      );
      return (await response.json()) as ServiceResources;
    };

    const running: ServiceResources[] = [];
    const stopped: Figures[] = [];
    const runtimes: WeakRef<object>[] = [];
    /** One cycle: the whole system started, loaded until every saga and event settled, stopped. */
    const oneCycle = async () => {
      const bus = new MemoryBus();
      const system: TestService<unknown>[] = [];
      try {
        for (const [i, definition] of definitions.entries())
          system.push(
            await startTestService(definition, {
              config: configs[i]!,
              bus,
              keepDatabase: true,
            }),
          );
        // Load: orders through the order service's RPC (as the gateway calls it), each saga runs
        // through inventory, payment and notification; the catalog through the gateway.
        const placed = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            orders.placeOrder({
              customerId: `leak-patrol-${i % 5}`,
              idempotencyKey: randomUUID(),
              lines: [{ sku: 'SKU-MUG', quantity: 1 }],
              paymentMethod: i % 4 === 0 ? 'pm_card_declined' : 'pm_card_ok',
            }),
          ),
        );
        for (let i = 0; i < 10; i++)
          expect((await fetch(`${url('gateway')}/v1/products`)).status).toBe(200);
        // The debug endpoints live on operator ports only, never on the public API.
        expect((await fetch(`${url('gateway')}/admin/debug/resources`)).status).toBe(404);
        await eventually(
          async () => {
            for (const { order } of placed) {
              const { order: now } = await orders.getOrder({
                orderId: order!.orderId,
                customerId: order!.customerId,
              });
              expect([OrderStatus.CONFIRMED, OrderStatus.CANCELLED]).toContain(now?.status);
            }
            // Every event after the sagas (settlements, notifications) applied as well.
            for (const service of system) {
              const figures = await resources(service);
              if (figures.outbox && 'unpublished' in figures.outbox)
                expect(figures.outbox.unpublished, service.runtime.options.name).toBe(0);
              if (figures.bus && 'consumers' in figures.bus)
                for (const consumer of figures.bus.consumers)
                  expect(consumer.pending + consumer.inFlight, consumer.subscription).toBe(0);
            }
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        running.push(await resources(system[0]!, true));
      } finally {
        for (const service of system.reverse()) {
          runtimes.push(new WeakRef(service.runtime));
          await service.stop({ keepDatabase: true });
        }
        await bus.close();
      }
    };

    try {
      for (let cycle = 0; cycle < cycles; cycle++) {
        await oneCycle();
        stopped.push(await settledFigures());
      }
    } finally {
      for (const [i, definition] of definitions.entries()) {
        const database = (configs[i]!.service as { database?: string }).database;
        if (definition.database && database)
          await dropTestDatabase(configs[i]!.platform.postgres.url, database);
      }
    }

    const asFigures = (r: ServiceResources): Figures => ({
      handles: r.resources.byType,
      listeners: r.listeners.total,
      heapAfterGcBytes: r.heap.usedBytes,
    });
    const reference = warmUp - 1;
    const last = cycles - 1;
    expect(running[last]!.heap.afterFullGc).toBe(true);
    expect({
      whileRunning: growth(
        asFigures(running[reference]!),
        asFigures(running[last]!),
        runningBounds,
      ),
      afterStop: growth(stopped[reference]!, stopped[last]!),
      stoppedRuntimesStillReachable: await stillReachable(runtimes),
    }).toEqual({ whileRunning: [], afterStop: [], stoppedRuntimesStillReachable: 0 });
  });
});
