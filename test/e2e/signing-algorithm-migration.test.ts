import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  eventually,
  startTestService,
  testLiveConfig,
  testWorkloadKeysDir,
} from '@orderly/platform/testing';
import { services } from '@orderly/system';

/**
 * Moving access tokens from ES256 to EdDSA with configuration only, through the public interfaces:
 * a real identity service and the gateway in front of it, each following one configuration file
 * as running services do. The steps are the ones docs/deploy.md gives: the gateway accepts both
 * algorithms, identity switches (its JWKS then publishes both keys), tokens issued before the
 * switch keep working, and once the gateway accepts only EdDSA an old ES256 token gets 401
 * AUTH_TOKEN_ALGORITHM_NOT_ACCEPTED. A wrong order (identity first) is shown to be refused the same
 * way, which is why the gateway goes first.
 */
type Listed = (typeof services)[number];
const identityService = services.find(
  (service): service is Extract<Listed, { name: 'identity' }> => service.name === 'identity',
)!;
const gatewayService = services.find(
  (service): service is Extract<Listed, { name: 'gateway' }> => service.name === 'gateway',
)!;

const admin = { email: 'admin@alg-migration.test', password: `admin-${randomUUID()}` };
const dir = mkdtempSync(join(tmpdir(), 'orderly-alg-migration-'));
const configFile = join(dir, 'orderly.yaml');

function writeConfig(identityAlgorithm: string, accepted: string[]): void {
  writeFileSync(
    configFile,
    [
      'configReload:',
      '  debounceMs: 20',
      '  pollIntervalMs: 100',
      'services:',
      '  identity:',
      '    signing:',
      `      algorithm: ${identityAlgorithm}`,
      '  gateway:',
      '    auth:',
      `      acceptedAlgorithms: [${accepted.join(', ')}]`,
      '',
    ].join('\n'),
  );
}

let identityLive: ReturnType<typeof testLiveConfig<typeof identityService.configSchema>>;
let gatewayLive: ReturnType<typeof testLiveConfig<typeof gatewayService.configSchema>>;
let identity: { url: string; stop(): Promise<void> };
let gateway: { url: string; stop(): Promise<void> };

beforeAll(async () => {
  writeConfig('ES256', ['ES256']);
  identityLive = testLiveConfig('identity', identityService.configSchema, configFile, {
    service: {
      keyRetireSweepIntervalMs: 50,
      bootstrapAdmin: admin,
      password: { scrypt: { cost: 1024, blockSize: 8, parallelization: 1 } },
    },
  });
  identity = await startTestService(identityService, { config: identityLive.live });
  const generous = { burst: 100_000, perMinute: 100_000 };
  gatewayLive = testLiveConfig('gateway', gatewayService.configSchema, configFile, {
    service: {
      identityServiceUrl: identity.url,
      // Not called by the routes used here.
      orderServiceUrl: 'http://127.0.0.1:9',
      inventoryServiceUrl: 'http://127.0.0.1:9',
      auth: { jwksRefetchMinIntervalMs: 100, jwksMaxAgeMs: 200 },
      rateLimits: {
        perAddress: generous,
        perUser: generous,
        login: generous,
        loginAccount: generous,
      },
    },
  });
  gateway = await startTestService(gatewayService, { config: gatewayLive.live });
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await identity?.stop();
  gatewayLive?.close();
  identityLive?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

async function adminToken(): Promise<string> {
  const response = await call('POST', '/v1/auth/login', { body: admin });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.accessToken as string;
}

/** An admin-only route the gateway answers itself: 200 means the token verified. */
const useToken = (token: string) => call('GET', '/v1/admin/flags', { token });

const acceptedNow = () => gatewayLive.live.service.auth.acceptedAlgorithms;
const repoRoot = new URL('../../', import.meta.url).pathname;

/** `orderly keys list` against the test's identity, as the operator workload (the tests' keys). */
function keysList(): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'tools/cli/src/main.ts', 'keys', 'list', '--url', identity.url],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          ORDERLY_LOG_LEVEL: 'silent',
          ORDERLY_WORKLOAD_IDENTITY__KEYS_DIR: testWorkloadKeysDir,
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const publishedAlgorithms = async () =>
  ((await call('GET', '/.well-known/jwks.json')).body.keys as { alg: string }[]).map(
    (key) => key.alg,
  );

describe('signing-algorithm migration ES256 → EdDSA (identity + gateway, configuration only)', () => {
  let es256Token = '';
  let eddsaToken = '';

  test('step 0: before the migration, tokens are ES256 and verify', async () => {
    es256Token = await adminToken();

    expect(decodeProtectedHeader(es256Token).alg).toBe('ES256');
    expect((await useToken(es256Token)).status).toBe(200);
    expect(await publishedAlgorithms()).toEqual(['ES256']);
  });

  test('step 1: the gateway accepts both algorithms; nothing changes for clients', async () => {
    writeConfig('ES256', ['ES256', 'EdDSA']);

    await eventually(() => expect(acceptedNow()).toEqual(['ES256', 'EdDSA']));
    expect((await useToken(es256Token)).status).toBe(200);
  });

  test('step 2: identity signs with EdDSA; new tokens are EdDSA and verify, the JWKS publishes both keys, the ES256 token issued before keeps working', async () => {
    writeConfig('EdDSA', ['ES256', 'EdDSA']);

    await eventually(async () => expect(await publishedAlgorithms()).toEqual(['EdDSA', 'ES256']));
    eddsaToken = await adminToken();
    expect(decodeProtectedHeader(eddsaToken).alg).toBe('EdDSA');
    expect((await useToken(eddsaToken)).status).toBe(200);
    expect((await useToken(es256Token)).status).toBe(200);
    const { keys } = (await call('GET', '/.well-known/jwks.json')).body as {
      keys: Record<string, string>[];
    };
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(keys[0]).not.toHaveProperty('y');
    expect(keys[1]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    // The operator sees the same with `orderly keys list`: the algorithm of each key.
    const listed = await keysList();
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout.trim().split('\n')).toEqual([
      `${keys[0]?.kid}\tEdDSA\tsigning`,
      `${keys[1]?.kid}\tES256\tretiring`,
    ]);
    if (process.env.SHOW_KEYS_LIST) console.log(listed.stdout);
    // A rotation now makes another EdDSA key, and the admin route says which algorithm it has.
    const rotation = await call('POST', '/v1/admin/keys/rotate', { token: eddsaToken });
    expect(rotation.status).toBe(200);
    expect(rotation.body).toMatchObject({ alg: 'EdDSA', retiringKid: keys[0]?.kid });
  });

  test('step 3: the gateway stops accepting ES256; an old ES256 token gets 401 AUTH_TOKEN_ALGORITHM_NOT_ACCEPTED telling the client to log in again, EdDSA tokens keep working', async () => {
    writeConfig('EdDSA', ['EdDSA']);

    await eventually(() => expect(acceptedNow()).toEqual(['EdDSA']));
    // The ES256 token verified before (and was remembered): it is refused all the same.
    const refused = await useToken(es256Token);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatchObject({ code: 'AUTH_TOKEN_ALGORITHM_NOT_ACCEPTED' });
    expect((refused.body.error as { message: string }).message).toMatch(
      /signed with ES256, which is not accepted now \(accepted: EdDSA\); log in again/,
    );
    expect((await useToken(eddsaToken)).status).toBe(200);
    expect((await useToken(await adminToken())).status).toBe(200);
  });

  test('a wrong order — identity switched back to ES256 while the gateway accepts only EdDSA — is refused with the same code, so the gateway must go first', async () => {
    writeConfig('ES256', ['EdDSA']);

    await eventually(async () => expect((await publishedAlgorithms())[0]).toBe('ES256'));
    const fresh = await adminToken();
    expect(decodeProtectedHeader(fresh).alg).toBe('ES256');
    const refused = await useToken(fresh);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatchObject({ code: 'AUTH_TOKEN_ALGORITHM_NOT_ACCEPTED' });
  });

  test('an algorithm the gateway does not know in its configuration is rejected whole, naming the key', async () => {
    writeFileSync(
      configFile,
      'configReload:\n  debounceMs: 20\n  pollIntervalMs: 100\nservices:\n  gateway:\n    auth:\n      acceptedAlgorithms: [HS256]\n',
    );

    await eventually(() =>
      expect(gatewayLive.live.status().reloadError).toMatch(
        /services\.gateway\.auth\.acceptedAlgorithms/,
      ),
    );
    expect(acceptedNow()).toEqual(['EdDSA']);
  });
});
