import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { targetCustomers } from '../src/auth.js';
import { BenchUsageError, parseCommandLine, phaseNames, wants } from '../src/config.js';

/** `npm run bench` refuses what it does not know, and --target brings its own customers. */
const env = {};
const config = (argv: string[]) => {
  const parsed = parseCommandLine(argv, env);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
};

describe('bench command line', () => {
  test('when --help is given, then it asks for the usage and nothing else', () => {
    expect(parseCommandLine(['--help'], env)).toEqual({ help: true });
    expect(parseCommandLine(['--quick', '--help'], env)).toEqual({ help: true });
  });

  test('when a flag is unknown, misspelt or positional, then it is a usage error', () => {
    for (const argv of [
      ['--quik'],
      ['quick'],
      ['--rates'],
      ['--duration', 'ten'],
      ['--from', 'git'],
    ])
      expect(() => parseCommandLine(argv, env), argv.join(' ')).toThrow(BenchUsageError);
    expect(() => parseCommandLine(['--only', 'intake,warp'], env)).toThrow(/unknown part warp/);
    expect(() => parseCommandLine(['--quick', '--smoke'], env)).toThrow(BenchUsageError);
    expect(() => parseCommandLine(['--order-db-url', 'postgres://x/o'], env)).toThrow(
      /only go with --target/,
    );
    expect(() => parseCommandLine(['--target', 'gateway:8080'], env)).toThrow(BenchUsageError);
  });

  test('when the documented flags are given, then they reach the configuration', () => {
    const c = config([
      '--quick',
      '--only',
      'intake,half',
      '--rates=500,1000',
      '--duration',
      '20',
      '--connections',
      '64',
      '--node-flags',
      '--max-semi-space-size=64 --trace-gc',
      '--from',
      'source',
    ]);
    expect(c.profile).toBe('quick');
    expect(c.latencyRates).toEqual([500, 1000]);
    expect(c.saturation.durationMs).toBe(20_000);
    expect(c.half.durationMs).toBe(20_000);
    expect(c.connections).toBe(64);
    expect(c.nodeFlags).toEqual(['--max-semi-space-size=64', '--trace-gc']);
    expect(c.runFrom).toBe('source');
    expect(phaseNames.filter((p) => wants(c, p))).toEqual(['intake', 'half']);
  });

  test('when no part is chosen, then the full run has every part and --quick skips the matrix and the 100 % sampling part', () => {
    const full = config([]);
    expect(phaseNames.filter((p) => wants(full, p))).toEqual([...phaseNames]);
    const quick = config(['--quick']);
    expect(phaseNames.filter((p) => !wants(quick, p))).toEqual(['telemetry', 'matrix']);
    expect(full.productionSamplingRatio).toBe(0.1);
  });

  test('when --replicas and --own-nats are given, then every service runs that many processes on a NATS server of the run; without them, one process on the configured server', () => {
    const c = config(['--replicas', '2', '--own-nats']);
    expect(c.replicas).toBe(2);
    expect(c.ownNats).toBe(true);
    const plain = config([]);
    expect(plain.replicas).toBe(1);
    expect(plain.ownNats).toBe(false);
    expect(() => parseCommandLine(['--replicas', '0'], env)).toThrow(/--replicas must be/);
    expect(() =>
      parseCommandLine(['--target', 'http://127.0.0.1:8080', '--replicas', '2'], env),
    ).toThrow(/--replicas needs the services the bench starts/);
  });

  test('when --target is given with its databases, then they are kept', () => {
    const c = config([
      '--target',
      'http://127.0.0.1:8080',
      '--order-db-url',
      'postgres://h/orderly_order',
      '--notification-db-url',
      'postgres://h/orderly_notification',
    ]);
    expect(c.target).toBe('http://127.0.0.1:8080');
    expect(c.targetOrderDbUrl).toBe('postgres://h/orderly_order');
  });
});

describe('--target customers', () => {
  let server: Server | undefined;
  afterEach(
    () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  );

  async function gateway(withAuth: boolean): Promise<string> {
    const registered = new Set<string>();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const json = (body ? JSON.parse(body) : {}) as { email?: string; password?: string };
        res.setHeader('content-type', 'application/json');
        if (!withAuth || !req.url?.startsWith('/v1/auth/')) {
          res.writeHead(404).end('{}');
        } else if (!json.email || !json.password) {
          res.writeHead(400).end('{"error":{"code":"INVALID_REQUEST"}}');
        } else if (req.url === '/v1/auth/register') {
          registered.add(json.email);
          res.writeHead(201).end('{"userId":"u"}');
        } else if (registered.has(json.email)) {
          res.writeHead(200).end(JSON.stringify({ accessToken: `token-for-${json.email}` }));
        } else res.writeHead(401).end('{}');
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server?.address() as { port: number }).port}`;
  }

  test('when the target has /v1/auth, then each customer registers, logs in and sends a bearer token', async () => {
    const auth = await targetCustomers(await gateway(true), 3, 'bench-t', 5000);
    expect(auth.kind).toBe('bearer');
    expect(auth.headers).toEqual([
      'Authorization: Bearer token-for-bench-t-0@bench.example.com\r\n',
      'Authorization: Bearer token-for-bench-t-1@bench.example.com\r\n',
      'Authorization: Bearer token-for-bench-t-2@bench.example.com\r\n',
    ]);
  });

  test('when the target has no /v1/auth, then customers are named by X-Customer-Id', async () => {
    const auth = await targetCustomers(await gateway(false), 2, 'bench-t', 5000);
    expect(auth.kind).toBe('customer-id');
    expect(auth.headers).toHaveLength(2);
  });
});
