import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { deadlineOf, type Database, type Logger } from '@orderly/platform';
import {
  IdentityService,
  Role as ProtoRole,
  type UserSchema,
} from '@orderly/identity-contract/identity_service';
import type { AccountPolicy, User } from '../domain/account.js';
import { invalidRefreshToken } from '../domain/identity-errors.js';
import type { InIdentityTransaction } from '../domain/identity-store.js';
import type { SigningAlgorithm } from '../domain/signing-key.js';
import { passwordHasher, type ScryptParameters } from '../domain/password-hash.js';
import { isPossibleRefreshToken } from '../domain/refresh-token.js';
import { identityStore } from '../data-access/identity-store.js';
import type { SigningKeys } from '../data-access/signing-keys.js';
import type { SessionSettings } from '../use-cases/issue-tokens.js';
import { logIn } from '../use-cases/log-in.js';
import { logOut } from '../use-cases/log-out.js';
import { publishSigningKeys } from '../use-cases/publish-signing-keys.js';
import { refreshSession } from '../use-cases/refresh-session.js';
import { registerAccount } from '../use-cases/register-account.js';
import { rotateSigningKey } from '../use-cases/rotate-signing-key.js';
import type { HashSlots } from './hash-slots.js';

export interface IdentityRpcDeps {
  readonly db: Database;
  readonly log: Logger;
  readonly clock: () => Date;
  readonly keys: SigningKeys;
  /** What a rotation makes the new key with: the configured algorithm, read at each rotation. */
  readonly signingAlgorithm: () => SigningAlgorithm;
  readonly policy: AccountPolicy;
  readonly scrypt: ScryptParameters;
  /** Bounds how many password hashes run at once (each holds 128·N·r bytes while it runs). */
  readonly hashSlots: HashSlots;
  readonly tokens: SessionSettings & { readonly clockSkewMs: number };
  /** A hash of a random password, checked when the email is unknown so both cases take as long. */
  readonly decoyHash: string;
  /** Deadline for calls that arrive without one. */
  readonly defaultTimeoutMs: number;
}

const protoRoles = { customer: ProtoRole.CUSTOMER, admin: ProtoRole.ADMIN } as const;

function userToProto(user: User): MessageInitShape<typeof UserSchema> {
  return { userId: user.id, email: user.email, role: protoRoles[user.role] };
}

/** IdentityService: proto ↔ domain. Passwords and tokens are never logged, only user ids and kids. */
export function identityRpc(deps: IdentityRpcDeps): (router: ConnectRouter) => void {
  const deadline = (context: HandlerContext) => deadlineOf(context, deps.defaultTimeoutMs);
  /** Transactions within the call's deadline. */
  const inTransaction =
    (context: HandlerContext): InIdentityTransaction =>
    (work) =>
      deps.db.transaction((tx) => work(identityStore(tx, deps.keys)), deadline(context));
  /** Hashes within the service's hash slots, given up when the call is cancelled. */
  const hasher = (context: HandlerContext) =>
    passwordHasher(deps.scrypt, (work) => deps.hashSlots.run(work, context.signal));

  return (router) =>
    router.service(IdentityService, {
      async register(request, context) {
        const user = await registerAccount(
          inTransaction(context),
          { email: request.email, password: request.password },
          hasher(context),
          deps.policy,
          deps.clock,
          deps.log,
        );
        return { user: userToProto(user) };
      },

      async login(request, context) {
        const { user, tokens } = await logIn(
          inTransaction(context),
          { email: request.email, password: request.password },
          { hasher: hasher(context), policy: deps.policy, decoyHash: deps.decoyHash },
          deps.tokens,
          deps.clock,
          deps.log,
        );
        return { tokens, user: userToProto(user) };
      },

      async refresh(request, context) {
        if (!isPossibleRefreshToken(request.refreshToken)) throw invalidRefreshToken();
        const now = deps.clock();
        const outcome = await deps.db.transaction(
          (tx) =>
            refreshSession(identityStore(tx, deps.keys), request.refreshToken, now, deps.tokens),
          deadline(context),
        );
        if ('refused' in outcome) {
          // Committed before answering: the family stays revoked whatever the caller does next.
          if (outcome.refused === 'reused') {
            deps.log.warn({ userId: outcome.userId }, 'refresh token reused: family revoked');
          }
          throw invalidRefreshToken();
        }
        deps.log.info({ userId: outcome.userId }, 'tokens refreshed');
        return { tokens: outcome.tokens };
      },

      async logout(request, context) {
        if (!isPossibleRefreshToken(request.refreshToken)) return {};
        const userId = await deps.db.transaction(
          (tx) => logOut(identityStore(tx, deps.keys), request.refreshToken),
          deadline(context),
        );
        if (userId) deps.log.info({ userId }, 'user logged out');
        return {};
      },

      async rotateSigningKey(_request, context) {
        const rotated = await rotateSigningKey(
          inTransaction(context),
          () => deps.keys.generate(deps.signingAlgorithm()),
          { accessTokenTtlMs: deps.tokens.accessTokenTtlMs, clockSkewMs: deps.tokens.clockSkewMs },
          deps.clock(),
          deps.log,
        );
        return {
          kid: rotated.kid,
          alg: rotated.alg,
          retiringKid: rotated.retiringKid ?? '',
          ...(rotated.retiringKid ? { retireAfter: timestampFromDate(rotated.retireAfter) } : {}),
        };
      },

      async getJwks(_request, context) {
        const keys = await deps.db.transaction(
          (tx) => publishSigningKeys(identityStore(tx, deps.keys)),
          deadline(context),
        );
        return { keys: keys.map((key) => ({ ...key, y: key.y ?? '' })) };
      },
    });
}
