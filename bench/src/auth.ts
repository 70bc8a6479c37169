import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { orderlyClient } from '@orderly/client';

/**
 * How the load generator says who the customer is. Until the identity service exists the gateway
 * takes `X-Customer-Id`; once services/identity exists, N users are registered and logged in
 * through the gateway's /v1/auth/* routes and each request carries one of their bearer tokens.
 * Each entry is the header lines one simulated customer sends.
 */
export interface AuthHeaders {
  readonly kind: 'customer-id' | 'bearer';
  readonly headers: readonly string[];
  readonly note: string;
}

export function identityServiceExists(repoRoot: string): boolean {
  return existsSync(join(repoRoot, 'services/identity/src/main.ts'));
}

export function customerIdHeaders(users: number, prefix: string): AuthHeaders {
  return {
    kind: 'customer-id',
    headers: Array.from({ length: users }, (_, i) => `X-Customer-Id: ${prefix}-${i}\r\n`),
    note: `X-Customer-Id header, ${users} customers`,
  };
}

/** How long registering and logging in may wait out a gateway's login rate limit (429 + Retry-After). */
const rateLimitedForAtMostMs = 10 * 60_000;

/** Repeats `call` while the gateway answers 429 (a running system keeps its login limits), as told. */
async function waitingOutRateLimits<T extends { response: Response }>(
  call: () => Promise<T>,
): Promise<T> {
  const giveUpAt = Date.now() + rateLimitedForAtMostMs;
  for (;;) {
    const answer = await call();
    if (answer.response.status !== 429 || Date.now() > giveUpAt) return answer;
    const retryAfterS = Number(answer.response.headers.get('retry-after'));
    await new Promise((r) =>
      setTimeout(r, Number.isFinite(retryAfterS) && retryAfterS > 0 ? retryAfterS * 1000 : 1000),
    );
  }
}

/**
 * Registers and logs in `users` users through the gateway; their bearer tokens. Through the typed
 * client (@orderly/client), like every other caller of the public API. The load itself is not: the
 * workers write prepared HTTP/1.1 requests on raw sockets (loadgen/), because building a Request,
 * serializing JSON and running middleware per order would spend the bench's CPU on the client, on
 * the same two cores as the system it measures.
 */
export async function bearerHeaders(
  gatewayUrl: string,
  users: number,
  prefix: string,
  timeoutMs: number,
): Promise<AuthHeaders> {
  const api = orderlyClient({ baseUrl: gatewayUrl });
  const headers: string[] = [];
  const password = `bench-${prefix}-Passw0rd!`;
  for (let i = 0; i < users; i++) {
    const email = `${prefix}-${i}@bench.example.com`;
    const credentials = { body: { email, password } };
    const registered = await waitingOutRateLimits(() =>
      api.POST('/v1/auth/register', { ...credentials, signal: AbortSignal.timeout(timeoutMs) }),
    );
    const { status } = registered.response;
    if (status >= 400 && status !== 409)
      throw new Error(`register answered ${status}: ${JSON.stringify(registered.error)}`);
    const login = await waitingOutRateLimits(() =>
      api.POST('/v1/auth/login', { ...credentials, signal: AbortSignal.timeout(timeoutMs) }),
    );
    if (!login.data)
      throw new Error(`login answered ${login.response.status}: ${JSON.stringify(login.error)}`);
    headers.push(`Authorization: Bearer ${login.data.accessToken}\r\n`);
  }
  return {
    kind: 'bearer',
    headers,
    note: `Authorization: Bearer, ${users} users registered through /v1/auth/*`,
  };
}

/**
 * A running system's customers: registered and logged in through its /v1/auth/* (each request then
 * carries `Authorization: Bearer`); a gateway without /v1/auth/register (404) takes X-Customer-Id.
 */
export async function targetCustomers(
  target: string,
  users: number,
  prefix: string,
  timeoutMs: number,
): Promise<AuthHeaders> {
  const gateway = new URL(target).origin;
  const probe = await fetch(new URL('/v1/auth/register', gateway), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(timeoutMs),
  });
  await probe.body?.cancel();
  if (probe.status === 404) return customerIdHeaders(users, prefix);
  return bearerHeaders(gateway, users, prefix, timeoutMs);
}
