import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError } from '@connectrpc/connect';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { afterAll, describe, expect, test } from 'vitest';
import {
  AppError,
  MemoryBus,
  ServiceRuntime,
  WorkloadIdentity,
  errorCodeHeader,
  fromRpcError,
  generateWorkloadKeyPair,
  loadConfigDocument,
  parseConfigSection,
  platformConfigSchema,
} from '../src/index.js';
import { memoryWorkloadIdentities, openWorkloadIdentity } from '../src/rpc/index.js';

const settings = {
  tokenTtlMs: 300_000,
  renewBeforeMs: 60_000,
  clockSkewMs: 30_000,
  verifiedTokenCacheSize: 100,
};
const dirs: string[] = [];
const keyFolder = () => {
  const dir = mkdtempSync(join(tmpdir(), 'orderly-workload-keys-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A token signed with `privateJwk` that no callee has seen yet: a fresh signer (no token cache), a
 * second later (Ed25519 is deterministic, so the same claims in the same second give the same token).
 */
async function freshToken(name: string, privateJwk: JWK, audience: string): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const key = (await importJWK(privateJwk, 'EdDSA')) as CryptoKey;
  const signer = new WorkloadIdentity(
    name,
    key,
    privateJwk.kid ?? name,
    () => Promise.resolve(undefined),
    settings,
  );
  return signer.authorization(audience);
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('service tokens', () => {
  test('when a caller signs for a callee, then the callee learns its name; the token is reused until shortly before it expires', async () => {
    const identities = memoryWorkloadIdentities(settings);
    const gateway = await identities.identity('gateway');
    const order = await identities.identity('order');
    const token = await gateway.authorization('order');
    expect(await order.verify(token)).toBe('gateway');
    expect(await gateway.authorization('order')).toBe(token);
    expect(await gateway.authorization('inventory')).not.toBe(token);
  });

  test('when a token is missing, malformed, for another audience or from an unknown workload, then it is CALLER_UNAUTHENTICATED', async () => {
    const identities = memoryWorkloadIdentities(settings);
    const gateway = await identities.identity('gateway');
    const order = await identities.identity('order');
    const stranger = await memoryWorkloadIdentities(settings).identity('gateway');
    for (const header of [
      undefined,
      'Bearer not-a-jwt',
      await gateway.authorization('inventory'),
      await stranger.authorization('order'),
    ]) {
      const error = await rejection(order.verify(header));
      expect(error.code).toBe('CALLER_UNAUTHENTICATED');
      expect(error.kind).toBe('unauthenticated');
    }
  });

  test('cost: a cached token and a remembered verification cost microseconds per call (measured and printed)', async () => {
    const identities = memoryWorkloadIdentities(settings);
    const gateway = await identities.identity('gateway');
    const order = await identities.identity('order');
    const calls = 20_000;
    await order.verify(await gateway.authorization('order'));
    let started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await order.verify(await gateway.authorization('order'));
    const cachedUs = Number(process.hrtime.bigint() - started) / 1000 / calls;
    const fresh = memoryWorkloadIdentities({ ...settings, verifiedTokenCacheSize: 0 });
    const signer = await fresh.identity('gateway');
    const verifier = await fresh.identity('order');
    const token = await signer.authorization('order');
    started = process.hrtime.bigint();
    for (let i = 0; i < 500; i++) await verifier.verify(token);
    const verifyUs = Number(process.hrtime.bigint() - started) / 1000 / 500;
    process.stdout.write(
      `workload identity: ${cachedUs.toFixed(2)} µs/call with both caches, ${verifyUs.toFixed(0)} µs per uncached EdDSA verification\n`,
    );
    expect(cachedUs).toBeLessThan(50);
  });
});

describe('refusals seen by the caller', () => {
  test("when a callee refuses this process's identity, then fromRpcError keeps the code but makes it internal (the end user is not at fault)", () => {
    for (const [code, errorCode] of [
      [Code.Unauthenticated, 'CALLER_UNAUTHENTICATED'],
      [Code.PermissionDenied, 'CALLER_NOT_ALLOWED'],
    ] as const) {
      const error = fromRpcError(
        new ConnectError('refused', code, { [errorCodeHeader]: errorCode }),
        'order.GetOrder',
      );
      expect({ code: error.code, kind: error.kind }).toEqual({ code: errorCode, kind: 'internal' });
    }
    const userError = fromRpcError(
      new ConnectError('no', Code.Unauthenticated, { [errorCodeHeader]: 'AUTH_INVALID' }),
      'x',
    );
    expect(userError.kind).toBe('unauthenticated');
  });
});

describe('keys on disk', () => {
  test('when several processes start at once on an empty folder, then one key pair is created and every one of them uses it', async () => {
    const dir = keyFolder();
    const folder = {
      keysDir: dir,
      dataDir: '/',
      generateDevKeys: true,
      production: false,
      trustRefreshMinIntervalMs: 0,
    };
    const [a, b] = await Promise.all([
      openWorkloadIdentity('order', folder, settings),
      openWorkloadIdentity('order', folder, settings),
    ]);
    const gateway = await openWorkloadIdentity('gateway', folder, settings);
    expect(await a.verify(await gateway.authorization('order'))).toBe('gateway');
    expect(await gateway.verify(await b.authorization('gateway'))).toBe('order');
    expect(JSON.parse(readFileSync(join(dir, 'order.public.jwk'), 'utf8'))).not.toHaveProperty('d');
  });

  test("when a key appears after the callee started (the operator's), then the callee trusts it", async () => {
    const dir = keyFolder();
    const folder = {
      keysDir: dir,
      dataDir: '/',
      generateDevKeys: true,
      production: false,
      trustRefreshMinIntervalMs: 0,
    };
    const order = await openWorkloadIdentity('order', folder, settings);
    const operator = await openWorkloadIdentity('operator', folder, settings);
    expect(await order.verify(await operator.authorization('order'))).toBe('operator');
  });

  test("when a workload's key is replaced, then a JWK Set trusts old and new keys during the change, and a new kid makes the callee read the file again", async () => {
    const dir = keyFolder();
    const folder = {
      keysDir: dir,
      dataDir: '/',
      generateDevKeys: true,
      production: false,
      trustRefreshMinIntervalMs: 0,
    };
    const order = await openWorkloadIdentity('order', folder, settings);
    const oldOperator = await openWorkloadIdentity('operator', folder, settings);
    expect(await order.verify(await oldOperator.authorization('order'))).toBe('operator');
    const oldPrivate = JSON.parse(readFileSync(join(dir, 'operator.private.jwk'), 'utf8')) as JWK;
    // The operator gets a new key pair; the public file lists both while callers move over.
    const oldPublic = JSON.parse(readFileSync(join(dir, 'operator.public.jwk'), 'utf8')) as Record<
      string,
      unknown
    >;
    const { privateJwk, publicJwk } = generateWorkloadKeyPair('operator');
    writeFileSync(
      join(dir, 'operator.public.jwk'),
      JSON.stringify({ keys: [oldPublic, publicJwk] }),
    );
    writeFileSync(join(dir, 'operator.private.jwk'), JSON.stringify(privateJwk));
    const newOperator = await openWorkloadIdentity('operator', folder, settings);
    expect(await order.verify(await newOperator.authorization('order'))).toBe('operator');
    expect(await order.verify(await freshToken('operator', oldPrivate, 'order'))).toBe('operator');
    // The old key leaves the file: tokens it signs are refused once the file is read again.
    writeFileSync(join(dir, 'operator.public.jwk'), JSON.stringify(publicJwk));
    const anotherNew = generateWorkloadKeyPair('operator');
    writeFileSync(join(dir, 'operator.private.jwk'), JSON.stringify(anotherNew.privateJwk));
    const unknownKid = await openWorkloadIdentity('operator', folder, settings);
    expect((await rejection(order.verify(await unknownKid.authorization('order')))).code).toBe(
      'CALLER_UNAUTHENTICATED',
    );
    expect(
      (await rejection(order.verify(await freshToken('operator', oldPrivate, 'order')))).code,
    ).toBe('CALLER_UNAUTHENTICATED');
  });

  test('when environment is production, then generated development keys and generateDevKeys are refused with a clear error', async () => {
    const dir = keyFolder();
    await openWorkloadIdentity(
      'order',
      {
        keysDir: dir,
        dataDir: '/',
        generateDevKeys: true,
        production: false,
        trustRefreshMinIntervalMs: 0,
      },
      settings,
    );
    const production = {
      keysDir: dir,
      dataDir: '/',
      generateDevKeys: false,
      production: true,
      trustRefreshMinIntervalMs: 0,
    };
    const devKey = await rejection(openWorkloadIdentity('order', production, settings));
    expect(devKey.code).toBe('WORKLOAD_IDENTITY_INVALID');
    expect(devKey.message).toMatch(
      /generated development key is refused with environment: production/,
    );
    const generating = await rejection(
      openWorkloadIdentity('order', { ...production, generateDevKeys: true }, settings),
    );
    expect(generating.message).toMatch(/workloadIdentity.generateDevKeys/);
    const missing = await rejection(openWorkloadIdentity('payment', production, settings));
    expect(missing.message).toMatch(/no workload key for payment/);
    // A key from a Secret (any kid without the dev-only marker) is accepted.
    const { privateJwk, publicJwk } = generateWorkloadKeyPair('inventory');
    writeFileSync(
      join(dir, 'inventory.private.jwk'),
      JSON.stringify({ ...privateJwk, kid: 'inventory-2026' }),
    );
    writeFileSync(
      join(dir, 'inventory.public.jwk'),
      JSON.stringify({ ...publicJwk, kid: 'inventory-2026' }),
    );
    const inventory = await openWorkloadIdentity('inventory', production, settings);
    expect(inventory.name).toBe('inventory');
  });

  test('when a service starts with environment: production and generated development keys, then it refuses to start', async () => {
    const dataDir = keyFolder();
    const platform = (environment: string) =>
      parseConfigSection(
        platformConfigSchema,
        loadConfigDocument({
          argv: [],
          env: {},
          overrides: {
            environment,
            dataDir,
            logLevel: 'silent',
            workloadIdentity: { generateDevKeys: environment !== 'production' },
          },
        }).document,
      );
    const options = {
      name: 'probe',
      http: { host: '127.0.0.1', port: 0, operatorPort: 0 },
      bus: new MemoryBus(),
      usesBus: false,
    };
    const dev = await ServiceRuntime.create({ ...options, platform: platform('development') });
    await dev.stop();
    // The development run generated probe's key pair in dataDir; production finds it and refuses it.
    const error = await rejection(
      ServiceRuntime.create({ ...options, platform: platform('production') }),
    );
    expect(error.code).toBe('WORKLOAD_IDENTITY_INVALID');
    expect(error.message).toMatch(/generated development key is refused/);
  });
});
