import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { defineService } from '@orderly/platform';
import { assertKeyEncryptionKeyAllowed, identityConfigSchema } from './config.js';
import type { AccountPolicy } from './domain/account.js';
import { hashPassword } from './domain/password-hash.js';
import { SigningKeys } from './data-access/signing-keys.js';
import { ensureBootstrapAdmin } from './entry-points/bootstrap-admin.js';
import { HashSlots } from './entry-points/hash-slots.js';
import { identityRpc } from './entry-points/identity-rpc.js';
import { keyRetirementTask, retireSigningKeys } from './entry-points/key-retirement-task.js';

export { identityConfigSchema, type IdentityConfig } from './config.js';
export { keyRetirementTask };

/**
 * The identity service: accounts (scrypt password hashes), ES256 access tokens, rotating refresh
 * tokens, the signing keys with their JWKS, rotation and retirement. It publishes and consumes no
 * events. It refuses the dev-only key-encryption key in production before opening anything; at
 * creation it makes sure a signing key exists (and opens it, so a wrong key-encryption key fails
 * here), and creates the bootstrap admin when one is configured.
 */
export const identityService = defineService({
  name: 'identity',
  configSchema: identityConfigSchema,
  database: { migrationsPath: fileURLToPath(new URL('./data-access/migrations', import.meta.url)) },
  usesBus: false,
  checkConfig: ({ platform, service }) =>
    assertKeyEncryptionKeyAllowed(platform.environment, service.keyEncryptionKey),
  async wire(runtime, { live, clock }) {
    const { platform, service } = live;
    const policy: AccountPolicy = {
      emailMaxLength: service.emailMaxLength,
      passwordMinLength: service.password.minLength,
      passwordMaxLength: service.password.maxLength,
    };
    const scrypt = service.password.scrypt;
    const keys = new SigningKeys(service.keyEncryptionKey.bytes, runtime.log);
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
    const decoyHash = await hashPassword(randomBytes(32).toString('base64url'), scrypt);

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
  },
});
