import type { CryptoKey } from 'jose';
import type { Database, Logger, Sql } from '@orderly/platform';
import { noSigningKey, signingKeyUnreadable } from '../domain/identity-errors.js';
import {
  generateSigningKey,
  openPrivateKey,
  type NewSigningKey,
  type SigningAlgorithm,
} from '../domain/signing-key.js';
import { findActiveKey, insertActiveKey, lockActiveKey } from './signing-key-repository.js';

const uniqueViolation = '23505';

/**
 * The service's signing keys: which one signs now (read from the database on every use, so every
 * replica follows a rotation at once), its opened private half (cached per kid), and new keys
 * sealed with the key-encryption key, which never leaves this class.
 */
export class SigningKeys {
  private readonly opened = new Map<string, CryptoKey>();

  constructor(
    private readonly keyEncryptionKey: Buffer,
    private readonly log: Logger,
  ) {}

  /** The key that signs now, opened. */
  async current(sql: Sql): Promise<{ kid: string; alg: SigningAlgorithm; privateKey: CryptoKey }> {
    const active = await findActiveKey(sql);
    if (!active) throw noSigningKey();
    let privateKey = this.opened.get(active.kid);
    if (!privateKey) {
      try {
        privateKey = await openPrivateKey(
          active.sealedPrivateKey,
          active.kid,
          active.alg,
          this.keyEncryptionKey,
        );
      } catch (error) {
        throw signingKeyUnreadable(active.kid, error);
      }
      this.opened.set(active.kid, privateKey);
    }
    return { kid: active.kid, alg: active.alg, privateKey };
  }

  /**
   * At start: creates the first key (with `alg`) when there is none, then opens the active one, so
   * a wrong key-encryption key stops the service at once instead of failing every login.
   */
  async ensureActiveKey(
    db: Database,
    alg: SigningAlgorithm,
    now: Date,
  ): Promise<{ kid: string; alg: SigningAlgorithm }> {
    try {
      await db.transaction(async (tx) => {
        if (await lockActiveKey(tx)) return;
        const key = await generateSigningKey(alg, this.keyEncryptionKey);
        await insertActiveKey(tx, key, now);
        this.log.info({ kid: key.kid, alg }, 'first signing key created');
      });
    } catch (error) {
      // Another replica created it at the same moment: use theirs.
      if ((error as { code?: unknown }).code !== uniqueViolation) throw error;
    }
    const { kid, alg: activeAlg } = await this.current(db);
    return { kid, alg: activeAlg };
  }

  /** A new key pair for `alg`, its private half sealed with the key-encryption key. */
  generate(alg: SigningAlgorithm): Promise<NewSigningKey> {
    return generateSigningKey(alg, this.keyEncryptionKey);
  }

  /** Keys that were retired (they left the JWKS): their opened private halves are dropped. */
  forgetRetired(kids: readonly string[]): void {
    for (const kid of kids) {
      this.opened.delete(kid);
      this.log.info({ kid }, 'signing key retired');
    }
  }
}
