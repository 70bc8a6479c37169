import {
  ConfigError,
  configValue,
  loadConfigDocument,
  reloadable,
  serviceEndpointsShape,
} from '@orderly/platform';
import { z } from 'zod';
import { signingAlgorithms } from './domain/signing-key.js';

/**
 * A key-encryption key is 32 bytes in base64. The one in config/default.yaml is public and carries
 * the `dev-only:` marker; production refuses it (see app.ts) and takes the key from the environment.
 */
export const devOnlyKeyMarker = 'dev-only:';

const keyEncryptionKey = z
  .string()
  .min(1)
  .transform((value, context) => {
    const devOnly = value.startsWith(devOnlyKeyMarker);
    const encoded = devOnly ? value.slice(devOnlyKeyMarker.length) : value;
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.length !== 32 || bytes.toString('base64') !== encoded) {
      context.addIssue({
        code: 'custom',
        message: 'must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)',
      });
      return z.NEVER;
    }
    return { bytes, devOnly };
  });

/** `services.identity` in config/*.yaml; defaults live in config/default.yaml, not here. */
export const identityConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  /** operatorPort (/metrics, admin endpoints) and rpcCallers (who may call each RPC). */
  ...serviceEndpointsShape,
  database: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and _ only'),
  /** `iss` of every access token; verifiers (the gateway) must expect the same value. */
  issuer: z.string().min(1),
  /** `aud` of every access token. */
  audience: z.string().min(1),
  accessTokenTtlMs: configValue.positiveInt().min(1000, 'at least one second'),
  refreshTokenTtlMs: configValue.positiveInt().min(1000, 'at least one second'),
  /** Clock difference tolerated between issuer and verifiers; a replaced key stays published accessTokenTtlMs + this. */
  clockSkewMs: configValue.durationMs(),
  keyRetireSweepIntervalMs: configValue.positiveInt(),
  signing: z.strictObject({
    /**
     * What new signing keys are made with. Changing it while running makes a new key of this
     * algorithm active at once (a rotation); the previous key verifies its tokens until they expire.
     */
    algorithm: reloadable(z.enum(signingAlgorithms)),
  }),
  /** AES-256-GCM key that encrypts the private signing keys at rest. */
  keyEncryptionKey,
  refreshTokenBytes: configValue.positiveInt().min(16, 'at least 16 bytes'),
  emailMaxLength: configValue.positiveInt(),
  password: z.strictObject({
    minLength: configValue.positiveInt(),
    /** Also bounds the work one login can cause. */
    maxLength: configValue.positiveInt(),
    /** Password hashes running at once; more wait (each holds 128·cost·blockSize bytes). */
    maxConcurrentHashes: configValue.positiveInt(),
    scrypt: z
      .strictObject({
        /** N: CPU/memory cost, a power of two. */
        cost: configValue
          .positiveInt()
          .refine((n) => n > 1 && (n & (n - 1)) === 0, 'must be a power of two above 1'),
        blockSize: configValue.positiveInt(),
        parallelization: configValue.positiveInt(),
        keyLength: configValue.positiveInt().min(32, 'at least 32 bytes'),
        saltLength: configValue.positiveInt().min(16, 'at least 16 bytes'),
        /** Node's scrypt maxmem; a hash needs 128·cost·blockSize bytes (128 MiB at 2^17, r = 8). */
        maxMemoryBytes: configValue.positiveInt(),
      })
      .refine((s) => s.maxMemoryBytes > 128 * s.cost * s.blockSize, {
        message: 'must be above 128 × cost × blockSize (the memory one scrypt hash needs)',
        path: ['maxMemoryBytes'],
      }),
  }),
  /** An admin created at start when `password` is set and no user has this email. */
  bootstrapAdmin: z.strictObject({
    email: z.string(),
    password: z.string(),
  }),
});

export type IdentityConfig = z.output<typeof identityConfigSchema>;

/**
 * Production must bring its own key-encryption key: the dev-only one from config/default.yaml is
 * public (it is in the repository), with or without its marker.
 */
export function assertKeyEncryptionKeyAllowed(
  environment: string,
  key: IdentityConfig['keyEncryptionKey'],
): void {
  if (environment !== 'production') return;
  const defaults = loadConfigDocument({ argv: [], env: {} }).document as {
    services?: { identity?: { keyEncryptionKey?: unknown } };
  };
  const shipped = defaults.services?.identity?.keyEncryptionKey;
  const shippedBytes =
    typeof shipped === 'string'
      ? Buffer.from(shipped.replace(devOnlyKeyMarker, ''), 'base64')
      : Buffer.alloc(0);
  if (key.devOnly || key.bytes.equals(shippedBytes)) {
    throw new ConfigError('invalid configuration', [
      'services.identity.keyEncryptionKey: value [redacted] is invalid: the dev-only key is refused ' +
        'when environment is production; set ORDERLY_SERVICES__IDENTITY__KEY_ENCRYPTION_KEY',
    ]);
  }
}
