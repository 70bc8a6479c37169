import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import { commitAllIn, contractsFixture, gitIn, runCli, runGuard } from './guard-runner.ts';

const document = 'api/openapi.json';
let repo: string;

const git = (...args: string[]): string => gitIn(repo, ...args);
const commitAll = (message: string): void => commitAllIn(repo, message);

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), `${JSON.stringify(value, null, 2)}\n`);
}

interface PublicApi {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  components: {
    schemas: {
      PlaceOrder: { required: string[]; properties: Record<string, unknown> };
      Order: { required: string[]; properties: Record<string, unknown> };
    };
  };
}

/** The fixture's public API: POST /v1/orders and GET /v1/orders/{orderId}, bodies behind $refs. */
function anApi(): PublicApi {
  const json = (ref: string) => ({
    content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
  });
  return {
    openapi: '3.1.0',
    info: { title: 'fixture', version: '1' },
    paths: {
      '/v1/orders': {
        post: {
          requestBody: { required: true, ...json('PlaceOrder') },
          responses: { '202': { description: 'accepted', ...json('Order') } },
        },
      },
      '/v1/orders/{orderId}': {
        get: {
          parameters: [{ name: 'orderId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'the order', ...json('Order') } },
        },
      },
    },
    components: {
      schemas: {
        PlaceOrder: {
          required: ['lines'],
          properties: {
            lines: {
              type: 'array',
              items: {
                type: 'object',
                required: ['sku', 'quantity'],
                properties: { sku: { type: 'string' }, quantity: { type: 'integer' } },
              },
            },
          },
        },
        Order: {
          required: ['orderId'],
          properties: { orderId: { type: 'string' }, totalCents: { type: 'string' } },
        },
      },
    },
  };
}

function changeApi(change: (api: PublicApi) => void, path = document): void {
  const api = JSON.parse(readFileSync(join(repo, document), 'utf8')) as PublicApi;
  change(api);
  writeJson(path, api);
}

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'guard-public-contracts-'));
  cpSync(contractsFixture, repo, { recursive: true });
  writeJson('orderly-guard.config.json', {
    serviceRoots: ['services/*'],
    contracts: {
      generated: ['services/*/gen/**'],
      proto: ['services/*/proto'],
      openapi: ['api/openapi*.json'],
      flags: ['flags/*.json'],
    },
  });
  writeJson(document, anApi());
  git('init', '-q', '-b', 'main');
  commitAll('public API v1');
});

describe('orderly-guard contracts: the public OpenAPI document', { timeout: 60_000 }, () => {
  test('when a response field is removed, then the gate fails naming the operation and the field', () => {
    changeApi((api) => delete api.components.schemas.Order.properties.totalCents);
    commitAll('drop totalCents');
    const { status, stdout } = runGuard(['contracts', repo]);
    expect(stdout).toContain(
      `${document}  openapi-breaking  POST /v1/orders responses.202.totalCents`,
    );
    expect(stdout).toContain('GET /v1/orders/{orderId} responses.200.totalCents');
    expect(stdout).toContain('serve the change as a new version beside it');
    expect(status).toBe(1);
  });

  test('when a new required request field is added, then the gate fails', () => {
    changeApi((api) => {
      api.components.schemas.PlaceOrder.required.push('currency');
      api.components.schemas.PlaceOrder.properties.currency = { type: 'string' };
    });
    commitAll('require a currency');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).toMatch(
      /openapi-breaking {2}POST \/v1\/orders requestBody\.currency: .*required/,
    );
    expect(status).toBe(1);
  });

  test('when a nested field changes type, then the gate fails, also for an uncommitted change', () => {
    writeFileSync(join(repo, 'README.md'), 'second commit\n');
    commitAll('docs');
    changeApi((api) => {
      const lines = api.components.schemas.PlaceOrder.properties.lines as {
        items: { properties: Record<string, unknown> };
      };
      lines.items.properties.quantity = { type: 'string' };
    });
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).toContain('POST /v1/orders requestBody.lines[].quantity.type');
    expect(stdout).toContain('changed from "integer" to "string"');
    expect(status).toBe(1);
  });

  test('when the change only adds (an optional request field, a response field, an operation), then the gate passes', () => {
    changeApi((api) => {
      api.components.schemas.PlaceOrder.properties.note = { type: 'string' };
      api.components.schemas.Order.properties.total = {
        type: 'object',
        properties: { amountMinor: { type: 'string' }, currency: { type: 'string' } },
      };
      api.paths['/v1/orders/{orderId}/cancel'] = {
        post: { responses: { '202': { description: 'cancelling' } } },
      };
    });
    commitAll('compatible additions');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).toContain(`OpenAPI ${document} (compared): 0 breaking change(s)`);
    expect(status).toBe(0);
  });

  test('when a version 2 document is added beside version 1, then it is new and nothing breaks', () => {
    changeApi((api) => {
      api.info.version = '2';
      api.components.schemas.Order.properties.totalCents = { type: 'object' };
      delete api.paths['/v1/orders/{orderId}'];
    }, 'api/openapi.v2.json');
    commitAll('v2 beside v1');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).toContain(`OpenAPI ${document} (compared), api/openapi.v2.json (new)`);
    expect(status).toBe(0);
  });
});

describe('orderly-guard contracts: event versions consumers declare', { timeout: 60_000 }, () => {
  function declare(service: string, versions: string[]): void {
    const path = join(repo, 'services', service, 'package.json');
    let manifest: Record<string, unknown> = { name: `@fixture/${service}` };
    try {
      manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch {
      // The fixture's beta and gamma have no manifest yet.
    }
    writeJson(`services/${service}/package.json`, {
      ...manifest,
      orderly: { consumes: { alpha: versions } },
    });
  }

  function publishFlag(defaultVariant: string, targeted?: string): void {
    writeJson('flags/flags.json', {
      flags: {
        'alpha-events-publish': {
          state: 'ENABLED',
          variants: { v1: 'v1', both: 'v1,v2', v2: 'v2' },
          defaultVariant,
          targeting: targeted
            ? { if: [{ in: [{ var: 'targetingKey' }, ['drill']] }, targeted, defaultVariant] }
            : {},
        },
      },
    });
  }

  test('when the publish flag closes v1 while a consumer still declares v1, then the gate fails naming the consumer and the version', () => {
    declare('beta', ['v1', 'v2']);
    declare('gamma', ['v2']);
    publishFlag('v2');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).toContain(
      'flags/flags.json  event-version-retired  alpha-events-publish variant "v2" publishes v2 and stops alpha v1, which beta (services/beta/package.json) still declares in orderly.consumes.alpha',
    );
    expect(stdout).not.toContain('gamma (');
    expect(status).toBe(1);
  });

  test('when only targeting can serve the closing variant, then that is refused too', () => {
    declare('beta', ['v1']);
    publishFlag('both', 'v2');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).toContain('variant "v2" publishes v2 and stops alpha v1, which beta');
    expect(status).toBe(1);
  });

  test('when every consumer has moved to v2, then v1 may close; during the window both may be declared', () => {
    declare('beta', ['v2']);
    declare('gamma', ['v2']);
    publishFlag('v2');
    expect(runCli(['contracts', repo]).status).toBe(0);

    declare('beta', ['v1', 'v2']);
    publishFlag('both');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).not.toContain('event-version-retired');
    expect(status).toBe(0);
  });

  test('when a consumer already declares the next version before the window opens, then nothing is closed and the gate passes', () => {
    declare('beta', ['v1', 'v2']);
    declare('gamma', ['v1']);
    publishFlag('v1');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).not.toContain('event-version');
    expect(status).toBe(0);
  });

  test('when a consumer reads only a version that is not published, then the gate fails naming it', () => {
    declare('beta', ['v1']);
    declare('gamma', ['v2']);
    publishFlag('v1');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).toContain(
      'flags/flags.json  event-version-unread  alpha-events-publish variant "v1" publishes v1, none of the alpha versions gamma (services/gamma/package.json) declares in orderly.consumes.alpha (v2)',
    );
    expect(stdout).not.toContain('beta (');
    expect(status).toBe(1);
  });
});
