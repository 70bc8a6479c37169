import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  liveConfigOf,
  ServiceRuntime,
  type Bus,
  type Flags,
  type Logger,
  type ServiceConfig,
} from '@orderly/platform';
import { assertKeyEncryptionKeyAllowed, type IdentityConfig } from './config.js';
import type { AccountPolicy } from './domain/account.js';
import { hashPassword } from './domain/password-hash.js';
import { SigningKeys } from './data-access/signing-keys.js';
import { ensureBootstrapAdmin } from './entry-points/bootstrap-admin.js';
import { HashSlots } from './entry-points/hash-slots.js';
import { identityRpc } from './entry-points/identity-rpc.js';
import { keyRetirementTask, retireSigningKeys } from './entry-points/key-retirement-task.js';

export { identityConfigSchema, type IdentityConfig } from './config.js';
export { keyRetirementTask };

const migrationsPath = fileURLToPath(new URL('./data-access/migrations', import.meta.url));

export interface CreateIdentityServiceOptions {
  readonly config: ServiceConfig<IdentityConfig>;
  /** Accepted for symmetry with the other services; identity publishes and consumes no events. */
  readonly bus?: Bus;
  readonly flags?: Flags;
  readonly log?: Logger;
  readonly clock?: () => Date;
}

/**
 * The identity service, wired but not started: accounts (scrypt password hashes), ES256 access
 * tokens, rotating refresh tokens, the signing keys with their JWKS, rotation and retirement.
 * At creation it refuses the dev-only key-encryption key in production, makes sure a signing key
 * exists (and opens it, so a wrong key-encryption key fails here), and creates the bootstrap admin
 * when one is configured. The caller starts and stops the runtime.
 */
export async function createIdentityService(
  options: CreateIdentityServiceOptions,
): Promise<ServiceRuntime> {
  const live = liveConfigOf(options.config, 'identity');
  const { platform, service } = live;
  assertKeyEncryptionKeyAllowed(platform.environment, service.keyEncryptionKey);
  const clock = options.clock ?? (() => new Date());
  const runtime = await ServiceRuntime.create({
    name: 'identity',
    platform,
    http: { host: service.host, port: service.port, operatorPort: service.operatorPort },
    rpcCallers: () => live.service.rpcCallers,
    database: { name: service.database, migrationsPath },
    usesBus: false,
    ...(options.log ? { log: options.log } : {}),
    config: live,
    flags: options.flags,
  });
  const policy: AccountPolicy = {
    emailMaxLength: service.emailMaxLength,
    passwordMinLength: service.password.minLength,
    passwordMaxLength: service.password.maxLength,
  };
  const scrypt = service.password.scrypt;
  const keys = new SigningKeys(service.keyEncryptionKey.bytes, runtime.log);
  let decoyHash: string;
  try {
    const kid = await keys.ensureActiveKey(runtime.db, clock());
    runtime.log.info({ kid }, 'signing key ready');
    await ensureBootstrapAdmin({
      db: runtime.db,
      log: runtime.log,
      admin: service.bootstrapAdmin,
      policy,
      scrypt,
      now: clock(),
    });
    decoyHash = await hashPassword(randomBytes(32).toString('base64url'), scrypt);
  } catch (error) {
    await runtime.stop();
    throw error;
  }

  runtime.routes(
    identityRpc({
      db: runtime.db,
      log: runtime.log,
      clock,
      keys,
      policy,
      scrypt,
      hashSlots: new HashSlots(service.password.maxConcurrentHashes),
      tokens: {
        issuer: service.issuer,
        audience: service.audience,
        accessTokenTtlMs: service.accessTokenTtlMs,
        refreshTokenTtlMs: service.refreshTokenTtlMs,
        refreshTokenBytes: service.refreshTokenBytes,
        clockSkewMs: service.clockSkewMs,
      },
      decoyHash,
      defaultTimeoutMs: platform.rpc.defaultTimeoutMs,
    }),
  );
  runtime.every(
    keyRetirementTask,
    () => service.keyRetireSweepIntervalMs,
    async () => {
      await retireSigningKeys({ db: runtime.db, keys, clock });
    },
  );
  return runtime;
}
