import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestService, testWorkloadKeysDir } from '@orderly/platform/testing';
import { gatewayService } from '@orderly/gateway';
import { orderly } from './orderly-process.js';

/**
 * `orderly contracts diff | impact | callers` through the real entry point (issue 17): the OpenAPI
 * side from files and from a running gateway's per-version documents, the protobuf side from the
 * repository's buf workspace (order.v1 → order.v2), and the callers of a retired version from the
 * gateway's operator port, asked as the operator.
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-contracts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** POST /v1/orders in version `version` of a small public API. */
function anApi(version: '1' | '2'): object {
  const placeOrder =
    version === '1'
      ? {
          type: 'object',
          required: ['lines'],
          properties: {
            lines: {
              type: 'array',
              items: {
                type: 'object',
                properties: { sku: { type: 'string' }, quantity: { type: 'integer' } },
              },
            },
          },
        }
      : {
          type: 'object',
          required: ['lines', 'currency'],
          properties: {
            currency: { type: 'string' },
            lines: {
              type: 'array',
              items: {
                type: 'object',
                properties: { sku: { type: 'string' }, quantity: { type: 'string' } },
              },
            },
          },
        };
  const placed =
    version === '1'
      ? {
          type: 'object',
          properties: { orderId: { type: 'string' }, totalCents: { type: 'string' } },
        }
      : { type: 'object', properties: { orderId: { type: 'string' }, total: { type: 'object' } } };
  return {
    openapi: '3.1.0',
    info: { title: 'test', version },
    paths: {
      '/v1/orders': {
        post: {
          operationId: 'placeOrder',
          requestBody: { content: { 'application/json': { schema: placeOrder } } },
          responses: {
            '202': { description: 'ok', content: { 'application/json': { schema: placed } } },
          },
        },
      },
    },
  };
}

const v1File = join(dir, 'v1.json');
const v2File = join(dir, 'v2.json');
beforeAll(() => {
  writeFileSync(v1File, JSON.stringify(anApi('1')));
  writeFileSync(v2File, JSON.stringify(anApi('2')));
});

describe('orderly contracts diff', { timeout: 120_000 }, () => {
  test('when given two OpenAPI documents, then it prints their changes with breaking marks, and the order events v1 → v2 field by field', async () => {
    const result = await orderly([
      'contracts',
      'diff',
      '--from',
      '1',
      '--to',
      '2',
      '--openapi-from',
      v1File,
      '--openapi-to',
      v2File,
    ]);
    expect(result.stderr).not.toMatch(/orderly contracts|Error/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Public API (OpenAPI) 1 → 2');
    expect(result.stdout).toMatch(
      /BREAKING {2}changed {2}POST \/v1\/orders requestBody\.currency {2}\(request field: currency is now required\)/,
    );
    expect(result.stdout).toMatch(
      /BREAKING {2}changed {2}POST \/v1\/orders requestBody\.lines\[\]\.quantity/,
    );
    expect(result.stdout).toMatch(
      /BREAKING {2}removed {2}POST \/v1\/orders responses\.202\.totalCents/,
    );
    expect(result.stdout).toMatch(/ {10}added {4}POST \/v1\/orders responses\.202\.total /);
    expect(result.stdout).toContain('order.v1 → order.v2 (files: order_events)');
    expect(result.stdout).toMatch(
      /BREAKING {2}changed {2}order_events PaymentRequested\.amount_cents {2}\(field amount_cents = 6: renamed to amount, type int64 → Money\)/,
    );
    expect(result.stdout).toMatch(/ {10}added {4}order_events Money/);
  });

  test('when --json is given, then it prints the same diff as JSON', async () => {
    const result = await orderly([
      'contracts',
      'diff',
      '--from',
      '1',
      '--to',
      '2',
      '--openapi-from',
      v1File,
      '--openapi-to',
      v2File,
      '--json',
    ]);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as {
      openapi: { from: string; to: string; breaking: boolean; changes: { path: string }[] };
      proto: { from: string; to: string; breaking: boolean; changes: { path: string }[] }[];
    };
    expect(output.openapi).toMatchObject({ from: '1', to: '2', breaking: true });
    expect(output.proto).toEqual([
      expect.objectContaining({ from: 'order.v1', to: 'order.v2', breaking: true }),
    ]);
    expect(output.proto[0]?.changes.map((change) => change.path)).toContain(
      'order_events OrderConfirmed.total_cents',
    );
  });

  test('when an option is missing, wrong or half given, then it is a usage error (exit 2)', async () => {
    const missing = await orderly(['contracts', 'diff', '--from', '1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing --from <n> or --to <n>');
    const wrong = await orderly(['contracts', 'diff', '--from', 'one', '--to', '2']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("'one' is not a version number");
    const half = await orderly([
      'contracts',
      'diff',
      '--from',
      '1',
      '--to',
      '2',
      '--openapi-from',
      v1File,
    ]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--openapi-from and --openapi-to go together');
  });

  test('when the gateway cannot be reached, then the protobuf side is still printed and it exits 1 naming the address', async () => {
    const result = await orderly([
      'contracts',
      'diff',
      '--from',
      '1',
      '--to',
      '2',
      '--url',
      'http://127.0.0.1:1',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('order.v1 → order.v2');
    expect(result.stderr).toContain('cannot read http://127.0.0.1:1/openapi/v1.json');
  });
});

describe('orderly contracts impact', { timeout: 120_000 }, () => {
  test('when run, then it prints the Mermaid graph and, as text, who produces and consumes each event and calls each RPC', async () => {
    const result = await orderly(['contracts', 'impact']);
    expect(result.stderr).not.toMatch(/orderly contracts|Error/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^```mermaid\nflowchart LR\n/);
    expect(result.stdout).toContain('routes --> gateway');
    expect(result.stdout).toMatch(/order -->\|"[^"]*order\.v1\.OrderPlaced[^"]*"\| inventory/);
    expect(result.stdout).toMatch(/order\.v1\.OrderPlaced +order → [^\n]*inventory/);
    expect(result.stdout).toMatch(/order\.v1\.PaymentRequested +order → [^\n]*payment/);
    expect(result.stdout).toMatch(/inventory\.v1\.StockReserved +inventory → [^\n]*order/);
    expect(result.stdout).toContain('payment reads order v1');
    expect(result.stdout).toMatch(
      /order\.v1\.OrderService\/PlaceOrder +gateway → order {2}routes: POST \/v1\/orders\n/,
    );
    expect(result.stdout).toMatch(/POST \/v1\/orders +→ order\.v1\.OrderService\/PlaceOrder\n/);
    expect(result.stdout).not.toContain('would break');
  });

  test('when given a diff, then it names what the breaking changes reach: event consumers and route clients, in red on the graph', async () => {
    const result = await orderly([
      'contracts',
      'impact',
      '--diff',
      '1:2',
      '--openapi-from',
      v1File,
      '--openapi-to',
      v2File,
    ]);
    expect(result.stderr).not.toMatch(/orderly contracts|Error/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('What 1 → 2 would break');
    expect(result.stdout).toMatch(
      /event order\.v1\.PaymentRequested → payment\n {6}PaymentRequested\.amount_cents: field amount_cents = 6: renamed to amount, type int64 → Money\n/,
    );
    expect(result.stdout).toMatch(/event order\.v1\.OrderConfirmed → [^\n]*notification/);
    expect(result.stdout).toMatch(/route POST \/v1\/orders → public API clients of version 1\n/);
    expect(result.stdout).toMatch(/linkStyle [0-9,]+ stroke:#d33/);
    // The order RPCs have no v2: a v1 → v2 diff of the events does not reach their callers.
    expect(result.stdout).not.toMatch(/^ {2}rpc /m);

    const json = await orderly([
      'contracts',
      'impact',
      '--diff',
      '1:2',
      '--openapi-from',
      v1File,
      '--openapi-to',
      v2File,
      '--json',
    ]);
    const output = JSON.parse(json.stdout) as {
      breaks: { kind: string; subject: string; affected: string[] }[];
    };
    expect(output.breaks).toContainEqual(
      expect.objectContaining({
        kind: 'event',
        subject: 'order.v1.OrderPlaced',
        affected: expect.arrayContaining(['inventory']) as unknown,
      }),
    );
  });

  test('when --diff is not <from>:<to>, then it is a usage error', async () => {
    const result = await orderly(['contracts', 'impact', '--diff', '1-2']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--diff '1-2' is not <from>:<to>");
  });
});

describe('orderly contracts against a running gateway', { timeout: 120_000 }, () => {
  const retiredV1 = {
    defaultVersion: '2',
    versions: {
      '1': { lifecycle: 'retired', sunset: '2026-12-01T00:00:00Z', successor: '2' },
      '2': { lifecycle: 'current' },
    },
  };

  async function startGateway(contract?: object) {
    return startTestService(gatewayService, contract ? { service: { contract } } : {});
  }

  const operatorArgs = (operatorUrl: string | undefined) => [
    '--set',
    `services.gateway.operatorPort=${new URL(operatorUrl ?? '').port}`,
    '--set',
    `workloadIdentity.keysDir=${testWorkloadKeysDir}`,
  ];

  test('when diff asks the gateway, then it compares its /openapi/v1.json and /openapi/v2.json (what GET /openapi/contract-diff computes)', async () => {
    const gateway = await startGateway();
    try {
      const result = await orderly([
        'contracts',
        'diff',
        '--from',
        '1',
        '--to',
        '2',
        '--url',
        gateway.url,
        '--json',
      ]);
      expect(result.stderr).not.toMatch(/orderly contracts|Error/);
      expect(result.code).toBe(0);
      const fromCli = (JSON.parse(result.stdout) as { openapi: unknown }).openapi;
      const fromGateway: unknown = await (
        await fetch(`${gateway.url}/openapi/contract-diff?from=1&to=2`)
      ).json();
      expect(fromCli).toEqual(fromGateway);
      expect(fromCli).toMatchObject({ breaking: true });
    } finally {
      await gateway.stop();
    }
  });

  test('when a caller still calls the retired version, then callers lists it and exits 1; with no such caller it exits 0', async () => {
    const gateway = await startGateway(retiredV1);
    try {
      const quiet = await orderly([
        'contracts',
        'callers',
        ...operatorArgs(gateway.runtime.operatorUrl),
      ]);
      expect(quiet.stderr).not.toMatch(/orderly contracts|Error/);
      expect(quiet.stdout).toContain('1  retired    sunset 2026-12-01T00:00:00Z  successor 2');
      expect(quiet.stdout).toContain('No caller remains on a deprecated or retired version.');
      expect(quiet.code).toBe(0);

      const gone = await fetch(`${gateway.url}/v1/products`, {
        headers: { 'x-contract-version': '1', 'x-client-id': 'shop-frontend' },
      });
      expect(gone.status).toBe(410);

      const result = await orderly([
        'contracts',
        'callers',
        ...operatorArgs(gateway.runtime.operatorUrl),
      ]);
      expect(result.stderr).not.toMatch(/orderly contracts|Error/);
      expect(result.stdout).toMatch(/CALLER +VERSION +ROUTE +CALLS +FIRST SEEN +LAST SEEN\n/);
      expect(result.stdout).toMatch(/client:shop-frontend +1 +GET \/v1\/products +1 /);
      expect(result.stdout).toContain(
        '1 caller still on version 1 (retired, sunset 2026-12-01T00:00:00Z; move to 2).',
      );
      expect(result.code).toBe(1);

      const json = await orderly([
        'contracts',
        'callers',
        '--json',
        ...operatorArgs(gateway.runtime.operatorUrl),
      ]);
      expect(JSON.parse(json.stdout)).toMatchObject({
        remaining: 1,
        callers: [
          { caller: 'client:shop-frontend', version: '1', route: 'GET /v1/products', calls: 1 },
        ],
      });
      expect(json.code).toBe(1);
    } finally {
      await gateway.stop();
    }
  });

  test('when a caller still calls a retired route, then callers lists the route and exits 1', async () => {
    const gateway = await startGateway({
      routes: {
        'GET /v1/products': {
          lifecycle: 'retired',
          sunset: '2026-12-01T00:00:00Z',
          successor: 'https://catalog.example.com/v1/items',
        },
      },
    });
    try {
      const gone = await fetch(`${gateway.url}/v1/products`, {
        headers: { 'x-contract-version': '2', 'x-client-id': 'price-watcher' },
      });
      expect(gone.status).toBe(410);

      const result = await orderly([
        'contracts',
        'callers',
        ...operatorArgs(gateway.runtime.operatorUrl),
      ]);
      expect(result.stderr).not.toMatch(/orderly contracts|Error/);
      expect(result.stdout).toContain(
        'Routes\n  GET /v1/products  retired    sunset 2026-12-01T00:00:00Z  successor https://catalog.example.com/v1/items',
      );
      expect(result.stdout).toMatch(/client:price-watcher +2 +GET \/v1\/products +1 /);
      expect(result.stdout).toContain(
        '1 caller still on route GET /v1/products (retired, sunset 2026-12-01T00:00:00Z; move to https://catalog.example.com/v1/items).',
      );
      expect(result.stdout).not.toMatch(/still on version/);
      expect(result.code).toBe(1);
    } finally {
      await gateway.stop();
    }
  });

  test('when the operator port cannot be reached, then callers exits 3 naming the address', async () => {
    const result = await orderly([
      'contracts',
      'callers',
      '--url',
      'http://127.0.0.1:1',
      '--set',
      `workloadIdentity.keysDir=${testWorkloadKeysDir}`,
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('cannot reach http://127.0.0.1:1');
  });
});
