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
import {
  followSigningAlgorithm,
  signingAlgorithmTask,
} from './entry-points/signing-algorithm-task.js';

export { identityConfigSchema, type IdentityConfig } from './config.js';
export { keyRetirementTask, signingAlgorithmTask };

/**
 * The identity service: accounts (scrypt password hashes), access tokens signed with ES256 or EdDSA
 * (`signing.algorithm`, reloadable), rotating refresh tokens, the signing keys with their JWKS,
 * rotation, algorithm switches and retirement. It publishes and consumes no
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
    const lifetimes = {
      accessTokenTtlMs: service.accessTokenTtlMs,
      clockSkewMs: service.clockSkewMs,
    };
    // Read at use: `signing.algorithm` is reloadable.
    const signingAlgorithm = () => live.service.signing.algorithm;
    const followAlgorithm = () =>
      followSigningAlgorithm(
        { db: runtime.db, keys, clock, log: runtime.log, lifetimes },
        signingAlgorithm(),
      );
    const active = await keys.ensureActiveKey(runtime.db, signingAlgorithm(), clock());
    runtime.log.info(active, 'signing key ready');
    // Configured with another algorithm while stopped: switch now, before the first login.
    await followAlgorithm();
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
        signingAlgorithm,
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
    live.onChange((changed) => {
      if (!changed.includes('services.identity.signing.algorithm')) return;
      followAlgorithm().catch((error: unknown) =>
        runtime.log.error({ err: error }, 'signing algorithm switch failed; the sweep retries'),
      );
    });
    // The same check on a schedule: a switch that failed above (database away) is retried.
    runtime.every(
      signingAlgorithmTask,
      () => service.keyRetireSweepIntervalMs,
      async () => {
        await followAlgorithm();
      },
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
