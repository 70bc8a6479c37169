import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../../config.js';
import type { AccessTokenVerifier, Principal } from '../auth/access-token-verifier.js';
import { adminRequired, invalidToken, missingToken, rateLimited } from '../auth/auth-errors.js';
import {
  windowSeconds,
  type RateLimit,
  type TakeResult,
  type TokenBuckets,
} from './rate-limiter.js';

/**
 * Who may call a route, declared in its `config.access`:
 * - `public`: anyone (still rate limited by client address);
 * - `user`: a valid access token of any role; the customer is the token's `sub`;
 * - `admin`: a valid access token with the admin role (403 for anyone else).
 * `config.rateLimit: 'login' | 'register'` adds the strict per-address bucket of those routes.
 */
export type Access = 'public' | 'user' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    rateLimit?: 'login' | 'register';
  }
  interface FastifyRequest {
    /** Set for `user` and `admin` routes once the token is verified. */
    principal: Principal | null;
    /** The buckets this request has taken from so far (for the RateLimit headers). */
    rateLimitOutcomes: RateLimitOutcome[] | null;
  }
}

export interface RateLimitCheck {
  /** Policy name in the RateLimit headers. */
  readonly policy: string;
  readonly key: string;
  readonly limit: RateLimit;
}

export interface RateLimitOutcome {
  readonly check: RateLimitCheck;
  readonly result: TakeResult;
}

/**
 * Takes one token from each bucket of `checks` (together). Answers with `RateLimit-Policy` (every
 * policy applied to the request so far) and `RateLimit` (the one closest to its limit); when any
 * bucket is empty, throws 429 with Retry-After.
 */
export async function enforceRateLimits(
  buckets: TokenBuckets,
  request: FastifyRequest,
  reply: FastifyReply,
  checks: readonly RateLimitCheck[],
): Promise<void> {
  const taken = await Promise.all(
    checks.map(async (check) => ({ check, result: await buckets.take(check.key, check.limit) })),
  );
  const all = [...(request.rateLimitOutcomes ?? []), ...taken];
  request.rateLimitOutcomes = all;
  const tightest = all.reduce((a, b) => (b.result.remaining < a.result.remaining ? b : a));
  reply.header(
    'ratelimit-policy',
    all
      .map(
        ({ check }) => `"${check.policy}";q=${check.limit.burst};w=${windowSeconds(check.limit)}`,
      )
      .join(', '),
  );
  reply.header(
    'ratelimit',
    `"${tightest.check.policy}";r=${tightest.result.remaining};t=${tightest.result.resetSeconds}`,
  );
  const denied = taken.filter((r) => !r.result.allowed);
  if (denied.length > 0) {
    reply.header('retry-after', String(Math.max(...denied.map((d) => d.result.retryAfterSeconds))));
    throw rateLimited();
  }
}

/** `Authorization: Bearer <token>`; any other scheme counts as no token. */
const bearerPattern = /^Bearer +(\S+)$/i;

function bearerToken(header: string | undefined): string {
  if (header === undefined || header === '') throw missingToken();
  if (!/^Bearer(?: |$)/i.test(header)) throw missingToken();
  const match = bearerPattern.exec(header);
  if (!match?.[1]) throw invalidToken('malformed Authorization header');
  return match[1];
}

/**
 * onRequest hooks, after the deadline and before the body is read: the per-address bucket (plus
 * the login/register bucket on those routes), then the token and the per-user bucket, then the
 * role. A refused request never has its body parsed or reaches a service.
 */
export function registerRequestSecurity(
  app: FastifyInstance,
  deps: {
    verifier: AccessTokenVerifier;
    buckets: TokenBuckets;
    limits: GatewayConfig['rateLimits'];
  },
): void {
  const { verifier, buckets, limits } = deps;
  app.decorateRequest('principal', null);
  app.decorateRequest('rateLimitOutcomes', null);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config as { access?: Access; rateLimit?: string };
    const checks: RateLimitCheck[] = [
      { policy: 'address', key: `address:${request.ip}`, limit: limits.perAddress },
    ];
    if (config.rateLimit === 'login' || config.rateLimit === 'register') {
      checks.push({
        policy: config.rateLimit,
        key: `${config.rateLimit}:${request.ip}`,
        limit: limits.login,
      });
    }
    await enforceRateLimits(buckets, request, reply, checks);

    // Fail closed: a route that does not say otherwise needs a token; only unmatched paths (404) are open.
    const access = config.access ?? (request.routeOptions.url === undefined ? 'public' : 'user');
    if (access === 'public') return;
    const token = bearerToken(request.headers.authorization);
    const principal = await verifier.verify(token, request.deadline.signal);
    request.principal = principal;
    await enforceRateLimits(buckets, request, reply, [
      { policy: 'user', key: `user:${principal.sub}`, limit: limits.perUser },
    ]);
    if (access === 'admin' && principal.role !== 'admin') throw adminRequired();
  });
}

/** The verified principal of a `user`/`admin` route (the hook guarantees it is there). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw missingToken();
  return request.principal;
}
