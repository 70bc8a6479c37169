import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Histogram } from '../src/histogram.js';
import { HttpConnection } from '../src/loadgen/http-connection.js';
import { runLoad } from '../src/loadgen/worker.js';

let server: Server;
let baseUrl = '';
const seen: { key: string | undefined; customer: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({
        key: req.headers['idempotency-key'] as string | undefined,
        customer: req.headers['x-customer-id'] as string | undefined,
      });
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('hello ');
        res.end('world');
        return;
      }
      const parsed = JSON.parse(body || '{}') as { lines?: unknown[] };
      res.writeHead(parsed.lines ? 202 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('load generator', () => {
  test('when a response is chunked, then the connection reads the whole body and stays usable', async () => {
    const url = new URL(baseUrl);
    const connection = new HttpConnection(url.hostname, Number(url.port));
    const ask = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) =>
        connection.send(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, (error, response) =>
          error || !response
            ? reject(error ?? new Error('no response'))
            : resolve({ status: response.status, body: response.body.toString() }),
        ),
      );
    expect(await ask('/chunked')).toEqual({ status: 200, body: 'hello world' });
    expect((await ask('/chunked')).body).toBe('hello world');
    connection.destroy();
  });

  test('when orders are sent at a fixed rate, then each is a valid order with its own idempotency key', async () => {
    seen.length = 0;
    const result = await runLoad({
      url: `${baseUrl}/v1/orders`,
      kind: 'post-order',
      okStatus: 202,
      mode: 'open',
      connections: 10,
      rate: 200,
      warmupMs: 0,
      durationMs: 500,
      requestTimeoutMs: 5000,
      drainMs: 2000,
      authHeaders: ['X-Customer-Id: c-1\r\n', 'X-Customer-Id: c-2\r\n'],
      skus: ['SKU-A', 'SKU-B'],
      keyPrefix: 'test',
    });
    expect(result.sent).toBe(100);
    expect(result.statuses).toEqual({ '202': 100 });
    expect(Histogram.from(result.acceptedLatency).total).toBe(100);
    expect(new Set(seen.map((s) => s.key)).size).toBe(seen.length);
    expect(new Set(seen.map((s) => s.customer))).toEqual(new Set(['c-1', 'c-2']));
  });

  test('when the target has replicas, then the connections are opened to each of them in turn', async () => {
    const remotePorts = new Map<number, Set<number>>();
    const replicas = await Promise.all(
      [0, 1].map(async () => {
        const replica = createServer((req, res) => {
          const port = req.socket.localPort ?? 0;
          const seenBy = remotePorts.get(port) ?? new Set<number>();
          seenBy.add(req.socket.remotePort ?? 0);
          remotePorts.set(port, seenBy);
          req.resume();
          req.on('end', () => res.writeHead(202).end('{}'));
        });
        await new Promise<void>((resolve) => replica.listen(0, '127.0.0.1', resolve));
        return replica;
      }),
    );
    const [first, second] = replicas.map(
      (r) => `http://127.0.0.1:${(r.address() as { port: number }).port}`,
    );
    try {
      const result = await runLoad({
        url: `${first}/v1/orders`,
        replicaOrigins: [second ?? ''],
        kind: 'post-order',
        okStatus: 202,
        mode: 'closed',
        connections: 8,
        warmupMs: 0,
        durationMs: 300,
        requestTimeoutMs: 2000,
        drainMs: 1000,
        authHeaders: [],
        skus: ['SKU-A'],
        keyPrefix: 'replicas',
      });
      expect(result.statuses['202']).toBeGreaterThan(0);
      // 8 connections, each to one replica: 4 to each
      expect([...remotePorts.values()].map((connections) => connections.size)).toEqual([4, 4]);
    } finally {
      for (const replica of replicas) {
        replica.closeAllConnections();
        await new Promise((resolve) => replica.close(resolve));
      }
    }
  });

  test('when answers are refused, broken or never come, then each is a failure and stays in the latency distribution', async () => {
    let n = 0;
    const flaky = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const i = n++;
        if (i % 4 === 0) res.writeHead(202).end('{}');
        else if (i % 4 === 1) res.writeHead(503, { 'retry-after': '0' }).end('{}');
        else if (i % 4 === 2) req.socket.destroy();
        // i % 4 === 3: never answered
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    try {
      const result = await runLoad({
        url: `http://127.0.0.1:${(flaky.address() as { port: number }).port}/v1/orders`,
        kind: 'post-order',
        okStatus: 202,
        mode: 'open',
        connections: 50,
        rate: 80,
        warmupMs: 0,
        durationMs: 500,
        requestTimeoutMs: 300,
        drainMs: 1000,
        authHeaders: [],
        skus: ['SKU-A'],
        keyPrefix: 'failures',
      });
      const accepted = result.statuses['202'] ?? 0;
      const failed =
        Object.entries(result.statuses)
          .filter(([s]) => s !== '202')
          .reduce((a, [, c]) => a + c, 0) + Object.values(result.errors).reduce((a, c) => a + c, 0);
      expect(result.sent).toBe(40);
      expect(accepted + failed).toBe(result.sent);
      expect(result.statuses['503']).toBeGreaterThan(0);
      expect(result.errors['request timed out']).toBeGreaterThan(0);
      const latency = Histogram.from(result.latency);
      expect(latency.total).toBe(result.sent);
      // an unanswered request is in the distribution at no less than the timeout
      expect(latency.max).toBeGreaterThanOrEqual(300_000);
    } finally {
      flaky.closeAllConnections();
      await new Promise((resolve) => flaky.close(resolve));
    }
  });
});
