import type { CryptoKey } from 'jose';
import type { Role, User } from './account.js';
import type { StoredRefreshToken } from './refresh-token.js';
import type { NewSigningKey, PublicJwk, SigningAlgorithm } from './signing-key.js';

/**
 * What identity's use cases read and write (implemented by data-access/identity-store.ts), bound
 * to one transaction, or to the pool where each statement commits on its own.
 */
export type IdentityStore = AccountStore & RefreshTokenStore & SigningKeyStore;

/**
 * Runs `work` in one transaction, with the store bound to it; commits when `work` resolves. Use
 * cases that hash a password get this rather than a store, so that no transaction (nor its pooled
 * connection) is held while scrypt runs.
 */
export type InIdentityTransaction<Store = IdentityStore> = <T>(
  work: (store: Store) => Promise<T>,
) => Promise<T>;

/** Accounts. The password hash leaves the store only towards verification. */
export interface AccountStore {
  /** Inserts the account; undefined when the email is already registered. */
  insertUser(
    user: { readonly email: string; readonly passwordHash: string; readonly role: Role },
    now: Date,
  ): Promise<User | undefined>;
  findUserByEmail(email: string): Promise<{ user: User; passwordHash: string } | undefined>;
  findUserById(id: string): Promise<User | undefined>;
  /**
   * Replaces the password hash of `userId` if it is still `previousHash` (a password changed
   * meanwhile is not overwritten); true when it was replaced.
   */
  replacePasswordHash(userId: string, previousHash: string, passwordHash: string): Promise<boolean>;
}

/** Refresh tokens, known by their SHA-256 only. */
export interface RefreshTokenStore {
  insertRefreshToken(
    token: {
      readonly hash: Buffer;
      readonly userId: string;
      readonly familyId: string;
      readonly expiresAt: Date;
    },
    now: Date,
  ): Promise<void>;
  /** Locks the token, so two refreshes with the same token are decided one after the other. */
  lockRefreshToken(hash: Buffer): Promise<StoredRefreshToken | undefined>;
  markRefreshTokenRotated(id: string, now: Date): Promise<void>;
  /** Revokes every token of the family that is not revoked yet; returns how many. */
  revokeRefreshTokenFamily(familyId: string): Promise<number>;
}

/** Signing keys. At most one is active. */
export interface SigningKeyStore {
  /** The key that signs now, opened; IDENTITY_NO_SIGNING_KEY when there is none. */
  currentSigningKey(): Promise<{ kid: string; alg: SigningAlgorithm; privateKey: CryptoKey }>;
  /** Locks the active key (if any), so concurrent rotations happen one after the other. */
  lockActiveSigningKey(): Promise<{ kid: string; alg: SigningAlgorithm } | undefined>;
  markSigningKeyRetiring(kid: string, retireAfter: Date): Promise<void>;
  /**
   * Makes `key` the active one. Throws IDENTITY_ACTIVE_SIGNING_KEY_TAKEN when another key became
   * active meanwhile (a concurrent rotation): the transaction can only be rolled back.
   */
  insertActiveSigningKey(key: NewSigningKey, now: Date): Promise<void>;
  /** Every key that may still verify a live token: the active one first, then those retiring. */
  listPublishedSigningKeys(): Promise<PublicJwk[]>;
  /** Retires the keys whose tokens have all expired, and forgets their private halves. */
  retireDueSigningKeys(now: Date): Promise<string[]>;
}
