import type { Client } from '@connectrpc/connect';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import {
  Role,
  type IdentityService,
  type TokenPair,
} from '@orderly/identity-contract/identity_service';
import type { GatewayConfig } from '../../config.js';
import type { AccessTokenVerifier } from './access-token-verifier.js';
import {
  jwksSchema,
  loginSchema,
  logoutSchema,
  refreshSchema,
  registerSchema,
} from './auth-schemas.js';
import { upstreamInvalidResponse } from '../http/http-errors.js';
import { enforceRateLimits } from '../http/request-security.js';
import type { TokenBuckets } from '../http/rate-limiter.js';
import { callUpstream } from '../http/request-deadline.js';

export interface AuthRoutesDeps {
  readonly identityClient: Client<typeof IdentityService>;
  readonly verifier: AccessTokenVerifier;
  readonly buckets: TokenBuckets;
  readonly config: Pick<GatewayConfig, 'auth' | 'rateLimits'>;
}

interface Credentials {
  email: string;
  password: string;
}

const roleNames = new Map([
  [Role.CUSTOMER, 'customer'],
  [Role.ADMIN, 'admin'],
]);

function tokensToJson(tokens: TokenPair | undefined) {
  if (!tokens) throw upstreamInvalidResponse('identity');
  return {
    accessToken: tokens.accessToken,
    tokenType: 'Bearer',
    expiresIn: tokens.accessTokenExpiresInSeconds,
    refreshToken: tokens.refreshToken,
    refreshExpiresIn: tokens.refreshTokenExpiresInSeconds,
  };
}

/** RFC 6749 §5.1: token responses are never cached. */
function noStore(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

/**
 * POST /v1/auth/register|login|refresh|logout (public, one identity call each) and
 * GET /.well-known/jwks.json (the keys the gateway verifies with, from its cache).
 */
export function registerAuthRoutes(app: FastifyInstance, deps: AuthRoutesDeps): void {
  const { identityClient, verifier, buckets, config } = deps;

  app.post<{ Body: Credentials }>(
    '/v1/auth/register',
    { schema: registerSchema(config.auth), config: { access: 'public', rateLimit: 'register' } },
    async (request, reply) => {
      const { user } = await callUpstream(request.deadline, 'identity.Register', (options) =>
        identityClient.register(request.body, options),
      );
      const role = user && roleNames.get(user.role);
      if (!user || !role) throw upstreamInvalidResponse('identity');
      reply.code(201);
      return { userId: user.userId, email: user.email, role };
    },
  );

  app.post<{ Body: Credentials }>(
    '/v1/auth/login',
    {
      schema: loginSchema(config.auth),
      config: { access: 'public', rateLimit: 'login' },
      // Per account as well as per address: guessing one account's password from many addresses is throttled too.
      preHandler: async (request, reply) => {
        await enforceRateLimits(buckets, request, reply, [
          {
            policy: 'login-account',
            key: `login-account:${request.body.email.toLowerCase()}`,
            limit: config.rateLimits.loginAccount,
          },
        ]);
      },
    },
    async (request, reply) => {
      const { tokens } = await callUpstream(request.deadline, 'identity.Login', (options) =>
        identityClient.login(request.body, options),
      );
      noStore(reply);
      return tokensToJson(tokens);
    },
  );

  app.post<{ Body: { refreshToken: string } }>(
    '/v1/auth/refresh',
    { schema: refreshSchema(config.auth), config: { access: 'public' } },
    async (request, reply) => {
      const { tokens } = await callUpstream(request.deadline, 'identity.Refresh', (options) =>
        identityClient.refresh(request.body, options),
      );
      noStore(reply);
      return tokensToJson(tokens);
    },
  );

  app.post<{ Body: { refreshToken: string } }>(
    '/v1/auth/logout',
    { schema: logoutSchema(config.auth), config: { access: 'public' } },
    async (request, reply) => {
      await callUpstream(request.deadline, 'identity.Logout', (options) =>
        identityClient.logout(request.body, options),
      );
      return reply.code(204).send();
    },
  );

  app.get(
    '/.well-known/jwks.json',
    { schema: jwksSchema, config: { access: 'public' } },
    async (_request, reply) => {
      const keys = await verifier.jwks();
      reply.header(
        'cache-control',
        `public, max-age=${Math.floor(config.auth.jwksRefetchMinIntervalMs / 1000)}`,
      );
      return { keys };
    },
  );
}

/** The identity's RotateSigningKey answer as JSON. */
export function rotationToJson(response: {
  kid: string;
  alg: string;
  retiringKid: string;
  retireAfter?: Parameters<typeof timestampDate>[0];
}) {
  return {
    kid: response.kid,
    ...(response.alg ? { alg: response.alg } : {}),
    ...(response.retiringKid ? { retiringKid: response.retiringKid } : {}),
    ...(response.retireAfter
      ? { retireAfter: timestampDate(response.retireAfter).toISOString() }
      : {}),
  };
}
