import { existsSync } from 'node:fs';
import { join } from 'node:path';

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

async function postJson(
  url: string,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const giveUpAt = Date.now() + rateLimitedForAtMostMs;
  let response: Response;
  for (;;) {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status !== 429 || Date.now() > giveUpAt) break;
    // a running system keeps its login limits (a few per minute per address): wait as told
    await response.body?.cancel();
    const retryAfterS = Number(response.headers.get('retry-after'));
    await new Promise((r) =>
      setTimeout(r, Number.isFinite(retryAfterS) && retryAfterS > 0 ? retryAfterS * 1000 : 1000),
    );
  }
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: keep the status
  }
  return { status: response.status, json };
}

function findToken(json: Record<string, unknown>): string | undefined {
  for (const key of ['accessToken', 'access_token', 'token', 'idToken']) {
    const value = json[key];
    if (typeof value === 'string' && value) return value;
  }
  for (const value of Object.values(json)) {
    if (value && typeof value === 'object') {
      const nested = findToken(value as Record<string, unknown>);
      if (nested) return nested;
    }
  }
  return undefined;
}

/** Registers and logs in `users` users through the gateway; their bearer tokens. */
export async function bearerHeaders(
  gatewayUrl: string,
  users: number,
  prefix: string,
  timeoutMs: number,
): Promise<AuthHeaders> {
  const headers: string[] = [];
  const password = `bench-${prefix}-Passw0rd!`;
  for (let i = 0; i < users; i++) {
    const email = `${prefix}-${i}@bench.example.com`;
    const credentials = { email, password };
    const registered = await postJson(`${gatewayUrl}/v1/auth/register`, credentials, timeoutMs);
    if (registered.status >= 400 && registered.status !== 409) {
      throw new Error(`register answered ${registered.status}: ${JSON.stringify(registered.json)}`);
    }
    const login = await postJson(`${gatewayUrl}/v1/auth/login`, credentials, timeoutMs);
    const token = findToken(login.json) ?? findToken(registered.json);
    if (!token && login.status >= 400)
      throw new Error(`login answered ${login.status}: ${JSON.stringify(login.json)}`);
    if (!token) throw new Error('no token in the register/login answers');
    headers.push(`Authorization: Bearer ${token}\r\n`);
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
