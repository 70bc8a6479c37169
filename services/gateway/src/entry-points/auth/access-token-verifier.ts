import {
  decodeProtectedHeader,
  errors as joseErrors,
  importJWK,
  jwtVerify,
  type CryptoKey,
} from 'jose';
import type { Logger } from '@orderly/platform';
import { algorithmNotAccepted, invalidToken } from './auth-errors.js';

/**
 * Verifies access tokens against the identity service's JWKS. Only the algorithms identity can
 * sign with (ES256, EdDSA) that the configuration accepts now (`auth.acceptedAlgorithms`,
 * reloadable) are verified — `alg: none` and HS256 "signed" with the public key are refused before
 * any key is used; a token of a known algorithm that is no longer accepted (after a migration
 * window closed) gets its own code, so its client knows to log in again — with the configured
 * issuer and audience, inside exp/nbf (with the configured clock tolerance), an iat
 * that is not in the future, a kid the JWKS knows, a subject and a role.
 *
 * The JWKS is cached, and nobody outside can make the gateway ask identity at will. An unknown kid
 * refetches it at most once per `refetchMinIntervalMs` (requests arriving while that fetch is in
 * flight share it); inside the interval a token with an unknown kid is refused at once, without
 * waiting, so a flood of made-up kids costs identity one call per interval and delays nobody. A
 * token signed right after a rotation is accepted at once unless such a refetch happened in the
 * last interval; then it is refused until the interval ends (the client retries or logs in again).
 * A cache older than `maxAgeMs` is refreshed in the background: requests keep using the cached
 * keys meanwhile, and a failed refresh is retried no sooner than `refetchMinIntervalMs` later.
 *
 * A token that verified is remembered (up to `verifiedCacheSize` tokens, the oldest forgotten
 * first) until its `exp`: a client sends the same token with every request for its whole life,
 * and an ECDSA verification costs more than the rest of the gateway's work on a request. The cache
 * is keyed by the whole token, signature included, so only those exact bytes hit it; a hit still
 * checks exp/nbf against the clock and that the signing key is still published (a key withdrawn
 * from the JWKS invalidates its tokens at once).
 */
export interface PublicJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  /** EC keys only (ES256); OKP keys (EdDSA) have none. */
  readonly y?: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: string;
}

export type Role = 'customer' | 'admin';

export interface Principal {
  /** The user id: the only customer identity the gateway trusts. */
  readonly sub: string;
  readonly role: Role;
}

export interface VerifierSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly clockSkewMs: number;
  readonly refetchMinIntervalMs: number;
  readonly maxAgeMs: number;
  readonly maxTokenLength: number;
  /** Verified tokens remembered until they expire; 0 verifies every request. */
  readonly verifiedCacheSize: number;
  /** The algorithms accepted now, read at every verification (reloadable). */
  readonly acceptedAlgorithms: () => readonly TokenAlgorithm[];
}

export type JwksSource = () => Promise<readonly PublicJwk[]>;

/** The algorithms identity signs access tokens with, and the JWK each key must be to verify one. */
export const tokenAlgorithms = ['ES256', 'EdDSA'] as const;
export type TokenAlgorithm = (typeof tokenAlgorithms)[number];
const keyShapes: Record<TokenAlgorithm, { kty: string; crv: string }> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
};
const isTokenAlgorithm = (alg: unknown): alg is TokenAlgorithm =>
  (tokenAlgorithms as readonly unknown[]).includes(alg);
const roles = new Set<string>(['customer', 'admin']);
/** What the order service accepts as a customer id; identity issues UUIDs. */
const subjectPattern = /^[A-Za-z0-9_-]{1,64}$/;
const compactJwsPattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

interface VerifiedToken {
  readonly principal: Principal;
  readonly kid: string;
  readonly alg: TokenAlgorithm;
  /** exp and nbf in ms, with the clock tolerance already applied. */
  readonly validUntilMs: number;
  readonly validFromMs: number;
}

interface CachedJwks {
  readonly jwks: readonly PublicJwk[];
  /** The keys of the algorithms above, by kid, whether accepted now or not. */
  readonly keys: ReadonlyMap<string, { key: CryptoKey; alg: TokenAlgorithm }>;
  readonly fetchedAt: number;
}

export class AccessTokenVerifier {
  private cache: CachedJwks | undefined;
  private lastFetchStartedAt = Number.NEGATIVE_INFINITY;
  private lastRefetchStartedAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<CachedJwks> | undefined;
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly source: JwksSource,
    private readonly settings: VerifierSettings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The principal of a valid token; otherwise an AppError AUTH_TOKEN_INVALID (401). */
  async verify(token: string, signal: AbortSignal): Promise<Principal> {
    const remembered = this.verified.get(token);
    if (remembered) {
      const now = this.now();
      // keyFor answers from the JWKS cache (refreshing it when old), so a withdrawn key is noticed;
      // an algorithm no longer accepted falls through to the full check, which says so.
      if (
        this.settings.acceptedAlgorithms().includes(remembered.alg) &&
        now < remembered.validUntilMs &&
        now >= remembered.validFromMs &&
        (await this.keyFor(remembered.kid, signal))
      ) {
        return remembered.principal;
      }
      this.verified.delete(token);
    }
    const { principal, exp, nbf, kid, alg } = await this.verifyFully(token, signal);
    this.remember(token, { principal, kid, alg }, exp, nbf);
    return principal;
  }

  private remember(
    token: string,
    verified: Pick<VerifiedToken, 'principal' | 'kid' | 'alg'>,
    exp: number,
    nbf: number | undefined,
  ): void {
    const { verifiedCacheSize, clockSkewMs } = this.settings;
    if (verifiedCacheSize <= 0) return;
    while (this.verified.size >= verifiedCacheSize) {
      const oldest = this.verified.keys().next();
      if (oldest.done) break;
      this.verified.delete(oldest.value);
    }
    this.verified.set(token, {
      ...verified,
      validUntilMs: exp * 1000 + clockSkewMs,
      validFromMs: nbf === undefined ? Number.NEGATIVE_INFINITY : nbf * 1000 - clockSkewMs,
    });
  }

  private async verifyFully(
    token: string,
    signal: AbortSignal,
  ): Promise<{
    principal: Principal;
    kid: string;
    alg: TokenAlgorithm;
    exp: number;
    nbf: number | undefined;
  }> {
    if (token.length > this.settings.maxTokenLength || !compactJwsPattern.test(token)) {
      throw invalidToken('malformed');
    }
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch (error) {
      // jose throws TypeError (not a JOSEError) for a header that is not base64url JSON.
      throw invalidToken('undecodable header', error);
    }
    const { alg } = header;
    if (!isTokenAlgorithm(alg)) throw invalidToken(`alg ${String(alg)}`);
    const accepted = this.settings.acceptedAlgorithms();
    if (!accepted.includes(alg)) throw algorithmNotAccepted(alg, accepted);
    if (typeof header.kid !== 'string' || header.kid === '') throw invalidToken('no kid');
    const kid = header.kid;
    const known = await this.keyFor(kid, signal);
    if (!known) throw invalidToken('unknown kid');
    // A kid of one algorithm named in a header of another: the key decides.
    if (known.alg !== alg) throw invalidToken(`alg ${alg} for a ${known.alg} key`);
    const { key } = known;
    const skewSeconds = Math.ceil(this.settings.clockSkewMs / 1000);
    const currentDate = new Date(this.now());
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: skewSeconds,
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        currentDate,
      }));
    } catch (error) {
      // Whatever jose refuses (signature, claims, a payload that is not JSON) is a bad token.
      throw invalidToken(error instanceof joseErrors.JOSEError ? error.code : 'undecodable', error);
    }
    const nowSeconds = Math.floor(currentDate.getTime() / 1000);
    if (typeof payload.iat !== 'number' || payload.iat > nowSeconds + skewSeconds) {
      throw invalidToken('issued in the future');
    }
    const { sub, role } = payload;
    if (typeof sub !== 'string' || !subjectPattern.test(sub)) throw invalidToken('bad sub');
    if (typeof role !== 'string' || !roles.has(role)) throw invalidToken('bad role');
    if (typeof payload.exp !== 'number') throw invalidToken('no exp');
    return {
      principal: { sub, role: role as Role },
      kid,
      alg,
      exp: payload.exp,
      nbf: payload.nbf,
    };
  }

  /**
   * The published keys from the cache (fetched once when there is none yet, refreshed in the
   * background when older than `maxAgeMs`): serving them never makes the gateway call identity.
   */
  async jwks(): Promise<readonly PublicJwk[]> {
    return (await this.current()).jwks;
  }

  /**
   * Fetches the keys now, after a rotation this gateway asked for: its own JWKS answer then shows the
   * new key at once. A fetch already under way may predate the rotation, so it is not reused.
   */
  async refresh(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    await this.fetch();
  }

  /** The cache, fetching it when empty and starting a background refresh when it is old. */
  private async current(): Promise<CachedJwks> {
    const cached = this.cache;
    if (!cached) return this.fetch();
    const now = this.now();
    if (
      !this.inFlight &&
      now - cached.fetchedAt >= this.settings.maxAgeMs &&
      now - this.lastFetchStartedAt >= this.settings.refetchMinIntervalMs
    ) {
      this.fetch().catch((error: unknown) => {
        // Keep verifying with the keys we have; a later request tries again.
        this.log.warn({ err: error }, 'jwks refresh failed; using the cached keys');
      });
    }
    return cached;
  }

  private async keyFor(
    kid: string,
    signal: AbortSignal,
  ): Promise<{ key: CryptoKey; alg: TokenAlgorithm } | undefined> {
    const cached = await this.current();
    const known = cached.keys.get(kid);
    if (known) return known;
    signal.throwIfAborted();
    // A fetch already under way (a refresh, or another unknown kid's refetch) may bring the key.
    if (this.inFlight) return (await this.inFlight).keys.get(kid);
    if (this.now() - this.lastRefetchStartedAt < this.settings.refetchMinIntervalMs)
      return undefined;
    this.lastRefetchStartedAt = this.now();
    return (await this.fetch()).keys.get(kid);
  }

  private fetch(): Promise<CachedJwks> {
    if (this.inFlight) return this.inFlight;
    this.lastFetchStartedAt = this.now();
    const fetching = (async () => {
      const jwks = await this.source();
      const keys = new Map<string, { key: CryptoKey; alg: TokenAlgorithm }>();
      for (const jwk of jwks) {
        const { alg } = jwk;
        if (!isTokenAlgorithm(alg)) continue;
        const shape = keyShapes[alg];
        if (jwk.kty !== shape.kty || jwk.crv !== shape.crv) continue;
        const { kty, crv, x, y } = jwk;
        const key = await importJWK({ kty, crv, x, ...(y ? { y } : {}) }, alg);
        if (!(key instanceof Uint8Array)) keys.set(jwk.kid, { key, alg });
      }
      const cache = { jwks, keys, fetchedAt: this.now() };
      this.cache = cache;
      return cache;
    })();
    this.inFlight = fetching;
    const clear = () => {
      if (this.inFlight === fetching) this.inFlight = undefined;
    };
    fetching.then(clear, clear);
    return fetching;
  }
}
