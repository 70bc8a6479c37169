import { randomUUID } from 'node:crypto';
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { deadlineOf, type Database, type Logger, type Sql } from '@orderly/platform';
import {
  IdentityService,
  Role as ProtoRole,
  type TokenPairSchema,
  type UserSchema,
} from '@orderly/identity-contract/identity_service';
import {
  isPossibleLogin,
  normalizeEmail,
  normalizePassword,
  validateRegistration,
  type AccountPolicy,
  type User,
} from '../domain/account.js';
import { issueAccessToken, type TokenSettings } from '../domain/access-token.js';
import { emailTaken, invalidCredentials, invalidRefreshToken } from '../domain/identity-errors.js';
import {
  hashPassword,
  needsRehash,
  verifyPassword,
  type ScryptParameters,
} from '../domain/password-hash.js';
import { decideRefresh, hashRefreshToken, newRefreshToken } from '../domain/refresh-token.js';
import type { HashSlots } from './hash-slots.js';
import {
  insertRefreshToken,
  lockRefreshToken,
  markRotated,
  revokeFamily,
} from '../data-access/refresh-token-repository.js';
import { listPublishedKeys } from '../data-access/signing-key-repository.js';
import type { SigningKeys } from '../data-access/signing-keys.js';
import {
  findUserByEmail,
  findUserById,
  insertUser,
  replacePasswordHash,
} from '../data-access/user-repository.js';

export interface IdentityRpcDeps {
  readonly db: Database;
  readonly log: Logger;
  readonly clock: () => Date;
  readonly keys: SigningKeys;
  readonly policy: AccountPolicy;
  readonly scrypt: ScryptParameters;
  /** Bounds how many password hashes run at once (each holds 128·N·r bytes while it runs). */
  readonly hashSlots: HashSlots;
  readonly tokens: TokenSettings & {
    readonly refreshTokenTtlMs: number;
    readonly refreshTokenBytes: number;
    readonly clockSkewMs: number;
  };
  /** A hash of a random password, checked when the email is unknown so both cases take as long. */
  readonly decoyHash: string;
  /** Deadline for calls that arrive without one. */
  readonly defaultTimeoutMs: number;
}

/** Refresh tokens we issue are base64url; anything else cannot be one and is refused unhashed. */
const refreshTokenPattern = /^[A-Za-z0-9_-]{16,512}$/;

const protoRoles = { customer: ProtoRole.CUSTOMER, admin: ProtoRole.ADMIN } as const;

function userToProto(user: User): MessageInitShape<typeof UserSchema> {
  return { userId: user.id, email: user.email, role: protoRoles[user.role] };
}

/** IdentityService: proto ↔ domain. Passwords and tokens are never logged, only user ids and kids. */
export function identityRpc(deps: IdentityRpcDeps): (router: ConnectRouter) => void {
  const deadline = (context: HandlerContext) => deadlineOf(context, deps.defaultTimeoutMs);

  /** A new access token and a refresh token of `familyId`, inside the caller's transaction. */
  async function issueTokens(
    tx: Sql,
    user: User,
    familyId: string,
    now: Date,
  ): Promise<MessageInitShape<typeof TokenPairSchema>> {
    const key = await deps.keys.current(tx);
    const access = await issueAccessToken(user, key, deps.tokens, now);
    const refresh = newRefreshToken(deps.tokens.refreshTokenBytes);
    await insertRefreshToken(
      tx,
      {
        hash: refresh.hash,
        userId: user.id,
        familyId,
        expiresAt: new Date(now.getTime() + deps.tokens.refreshTokenTtlMs),
      },
      now,
    );
    return {
      accessToken: access.token,
      accessTokenExpiresInSeconds: access.expiresInSeconds,
      refreshToken: refresh.token,
      refreshTokenExpiresInSeconds: Math.floor(deps.tokens.refreshTokenTtlMs / 1000),
    };
  }

  /**
   * A new hash of a password that just matched `storedHash`, when that hash is weaker than the
   * configured parameters; a failure is logged and the login goes on with the old hash.
   */
  async function rehashIfWeak(
    password: string,
    storedHash: string,
    userId: string,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    if (!needsRehash(storedHash, deps.scrypt)) return undefined;
    try {
      return await deps.hashSlots.run(() => hashPassword(password, deps.scrypt), signal);
    } catch (error) {
      deps.log.warn({ userId, err: error }, 'password re-hash failed; keeping the stored hash');
      return undefined;
    }
  }

  return (router) =>
    router.service(IdentityService, {
      async register(request, context) {
        const input = validateRegistration(request, deps.policy);
        const passwordHash = await deps.hashSlots.run(
          () => hashPassword(input.password, deps.scrypt),
          context.signal,
        );
        const user = await deps.db.transaction(
          (tx) =>
            insertUser(tx, { email: input.email, passwordHash, role: 'customer' }, deps.clock()),
          deadline(context),
        );
        if (!user) throw emailTaken();
        deps.log.info({ userId: user.id }, 'user registered');
        return { user: userToProto(user) };
      },

      async login(request, context) {
        if (!isPossibleLogin(request, deps.policy)) throw invalidCredentials();
        const password = normalizePassword(request.password);
        const found = await deps.db.transaction(
          (tx) => findUserByEmail(tx, normalizeEmail(request.email)),
          deadline(context),
        );
        const matches = await deps.hashSlots.run(
          () =>
            verifyPassword(
              password,
              found?.passwordHash ?? deps.decoyHash,
              deps.scrypt.maxMemoryBytes,
            ),
          context.signal,
        );
        if (!found || !matches) {
          deps.log.info({ userId: found?.user.id }, 'login refused');
          throw invalidCredentials();
        }
        const rehashed = await rehashIfWeak(
          password,
          found.passwordHash,
          found.user.id,
          context.signal,
        );
        const now = deps.clock();
        const tokens = await deps.db.transaction(async (tx) => {
          if (rehashed) {
            await replacePasswordHash(tx, found.user.id, found.passwordHash, rehashed);
          }
          return issueTokens(tx, found.user, randomUUID(), now);
        }, deadline(context));
        deps.log.info(
          { userId: found.user.id, rehashed: rehashed !== undefined },
          'user logged in',
        );
        return { tokens, user: userToProto(found.user) };
      },

      async refresh(request, context) {
        if (!refreshTokenPattern.test(request.refreshToken)) throw invalidRefreshToken();
        const hash = hashRefreshToken(request.refreshToken);
        const now = deps.clock();
        const outcome = await deps.db.transaction(async (tx) => {
          const stored = await lockRefreshToken(tx, hash);
          if (!stored) return { refused: 'unknown' as const };
          const decision = decideRefresh(stored, now);
          if (decision === 'reuse-detected') {
            // Committed before answering: the family stays revoked whatever the caller does next.
            await revokeFamily(tx, stored.familyId);
            return { refused: 'reused' as const, userId: stored.userId };
          }
          if (decision === 'refuse') return { refused: 'expired-or-revoked' as const };
          const user = await findUserById(tx, stored.userId);
          if (!user) return { refused: 'unknown' as const };
          await markRotated(tx, stored.id, now);
          return { tokens: await issueTokens(tx, user, stored.familyId, now), userId: user.id };
        }, deadline(context));
        if ('refused' in outcome) {
          if (outcome.refused === 'reused') {
            deps.log.warn({ userId: outcome.userId }, 'refresh token reused: family revoked');
          }
          throw invalidRefreshToken();
        }
        deps.log.info({ userId: outcome.userId }, 'tokens refreshed');
        return { tokens: outcome.tokens };
      },

      async logout(request, context) {
        if (!refreshTokenPattern.test(request.refreshToken)) return {};
        const hash = hashRefreshToken(request.refreshToken);
        const userId = await deps.db.transaction(async (tx) => {
          const stored = await lockRefreshToken(tx, hash);
          if (!stored) return undefined;
          await revokeFamily(tx, stored.familyId);
          return stored.userId;
        }, deadline(context));
        if (userId) deps.log.info({ userId }, 'user logged out');
        return {};
      },

      async rotateSigningKey(_request, context) {
        const rotated = await deps.keys.rotate(
          deps.db,
          { accessTokenTtlMs: deps.tokens.accessTokenTtlMs, clockSkewMs: deps.tokens.clockSkewMs },
          deps.clock(),
          deadline(context),
        );
        return {
          kid: rotated.kid,
          retiringKid: rotated.retiringKid ?? '',
          ...(rotated.retiringKid ? { retireAfter: timestampFromDate(rotated.retireAfter) } : {}),
        };
      },

      async getJwks(_request, context) {
        const keys = await deps.db.transaction((tx) => listPublishedKeys(tx), deadline(context));
        return { keys: keys.map((key) => ({ ...key })) };
      },
    });
}
