import type { CryptoKey } from 'jose';
import type { Database, DeadlineOptions, Logger, Sql } from '@orderly/platform';
import { noSigningKey, signingKeyUnreadable } from '../domain/identity-errors.js';
import { generateSigningKey, openPrivateKey, retireAfter } from '../domain/signing-key.js';
import {
  findActiveKey,
  insertActiveKey,
  lockActiveKey,
  markRetiring,
  retireDueKeys,
} from './signing-key-repository.js';

const uniqueViolation = '23505';

/**
 * The service's signing keys: which one signs now (read from the database on every use, so every
 * replica follows a rotation at once), its opened private half (cached per kid), rotation and
 * retirement.
 */
export class SigningKeys {
  private readonly opened = new Map<string, CryptoKey>();

  constructor(
    private readonly keyEncryptionKey: Buffer,
    private readonly log: Logger,
  ) {}

  /** The key that signs now, opened. */
  async current(sql: Sql): Promise<{ kid: string; privateKey: CryptoKey }> {
    const active = await findActiveKey(sql);
    if (!active) throw noSigningKey();
    let privateKey = this.opened.get(active.kid);
    if (!privateKey) {
      try {
        privateKey = await openPrivateKey(
          active.sealedPrivateKey,
          active.kid,
          this.keyEncryptionKey,
        );
      } catch (error) {
        throw signingKeyUnreadable(active.kid, error);
      }
      this.opened.set(active.kid, privateKey);
    }
    return { kid: active.kid, privateKey };
  }

  /**
   * At start: creates the first key when there is none, then opens the active one, so a wrong
   * key-encryption key stops the service at once instead of failing every login.
   */
  async ensureActiveKey(db: Database, now: Date): Promise<string> {
    try {
      await db.transaction(async (tx) => {
        if (await lockActiveKey(tx)) return;
        const key = await generateSigningKey(this.keyEncryptionKey);
        await insertActiveKey(tx, key, now);
        this.log.info({ kid: key.kid }, 'first signing key created');
      });
    } catch (error) {
      // Another replica created it at the same moment: use theirs.
      if ((error as { code?: unknown }).code !== uniqueViolation) throw error;
    }
    return (await this.current(db)).kid;
  }

  /**
   * A new key signs from now on; the one it replaces stays published until every token it
   * signed has expired (accessTokenTtlMs + clockSkewMs).
   */
  async rotate(
    db: Database,
    lifetimes: { accessTokenTtlMs: number; clockSkewMs: number },
    now: Date,
    deadline?: DeadlineOptions,
  ): Promise<{ kid: string; retiringKid: string | undefined; retireAfter: Date }> {
    const key = await generateSigningKey(this.keyEncryptionKey);
    const retireAt = retireAfter(now, lifetimes.accessTokenTtlMs, lifetimes.clockSkewMs);
    const replace = () =>
      db.transaction(async (tx) => {
        const active = await lockActiveKey(tx);
        if (active) await markRetiring(tx, active.kid, retireAt);
        await insertActiveKey(tx, key, now);
        return active?.kid;
      }, deadline);
    let previous: string | undefined;
    try {
      previous = await replace();
    } catch (error) {
      // A concurrent rotation replaced the key we waited for: replace its key instead.
      if ((error as { code?: unknown }).code !== uniqueViolation) throw error;
      previous = await replace();
    }
    this.log.info(
      { kid: key.kid, retiringKid: previous, retireAfter: retireAt },
      'signing key rotated',
    );
    return { kid: key.kid, retiringKid: previous, retireAfter: retireAt };
  }

  /** Retires keys whose tokens have all expired; they leave the JWKS. */
  async retireDue(db: Database, now: Date): Promise<string[]> {
    const retired = await db.transaction((tx) => retireDueKeys(tx, now));
    for (const kid of retired) {
      this.opened.delete(kid);
      this.log.info({ kid }, 'signing key retired');
    }
    return retired;
  }
}
