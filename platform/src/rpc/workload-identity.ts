import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Interceptor } from '@connectrpc/connect';
import {
  SignJWT,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  type CryptoKey,
  type JWK,
} from 'jose';
import { AppError } from '../errors/index.js';

/**
 * Workload identity: who is calling. Every process (service, operator CLI, test harness) holds one
 * Ed25519 key pair; a caller presents a short-lived signed service token (JWT, EdDSA) with
 * `iss` = `sub` = its name and `aud` = the callee's name as `authorization: Bearer …`; the callee
 * verifies it against the caller's public key and checks the caller against its allowlist. Signing is
 * amortised (one token per callee, re-signed shortly before it expires) and so is verification (a
 * verified token is remembered until its `exp`).
 */

/** The identity of the operator CLI and of tools acting for an operator (chaos, bench, harnesses). */
export const operatorWorkload = 'operator';
/** Key ids of generated development keys start with this; production refuses them. */
export const devKeyIdPrefix = 'dev-only:';
const algorithm = 'EdDSA';
/** Workload names are file names in the key folder: no separators, no dots. */
const workloadNamePattern = /^[a-z][a-z0-9-]{0,62}$/;

export interface WorkloadIdentitySettings {
  /** Lifetime of a signed token. */
  readonly tokenTtlMs: number;
  /** A cached token is re-signed when it has less than this left. */
  readonly renewBeforeMs: number;
  /** Tolerance for exp/iat between caller and callee clocks. */
  readonly clockSkewMs: number;
  /** Verified tokens remembered until their exp; 0 verifies every call. */
  readonly verifiedTokenCacheSize: number;
}

/** Where a workload's public key (the one with `kid`, when given) comes from (a folder, or memory in tests). */
export type TrustedKeys = (workload: string, kid?: string) => Promise<CryptoKey | undefined>;

export function isWorkloadName(name: string): boolean {
  return workloadNamePattern.test(name);
}

export function callerUnauthenticated(reason: string, cause?: unknown): AppError {
  return new AppError('CALLER_UNAUTHENTICATED', `caller not authenticated: ${reason}`, {
    kind: 'unauthenticated',
    cause,
  });
}

export function callerNotAllowed(caller: string, what: string): AppError {
  return new AppError('CALLER_NOT_ALLOWED', `${caller} may not call ${what}`, {
    kind: 'forbidden',
  });
}

export class WorkloadIdentity {
  private readonly tokens = new Map<string, { token: string; renewAt: number }>();
  private readonly verified = new Map<string, { caller: string; expiresAt: number }>();

  constructor(
    /** This workload's name: `iss` of the tokens it signs, `aud` it accepts. */
    readonly name: string,
    private readonly privateKey: CryptoKey,
    private readonly keyId: string,
    private readonly trusted: TrustedKeys,
    private readonly settings: WorkloadIdentitySettings,
  ) {}

  /** A token for calls to `audience`; cached, re-signed `renewBeforeMs` before it expires. */
  async tokenFor(audience: string): Promise<string> {
    const now = Date.now();
    const cached = this.tokens.get(audience);
    if (cached && cached.renewAt > now) return cached.token;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: algorithm, kid: this.keyId, typ: 'JWT' })
      .setIssuer(this.name)
      .setSubject(this.name)
      .setAudience(audience)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor((now + this.settings.tokenTtlMs) / 1000))
      .sign(this.privateKey);
    const renewAt = now + Math.max(0, this.settings.tokenTtlMs - this.settings.renewBeforeMs);
    this.tokens.set(audience, { token, renewAt });
    return token;
  }

  /** The `authorization` header value for calls to `audience`. */
  async authorization(audience: string): Promise<string> {
    return `Bearer ${await this.tokenFor(audience)}`;
  }

  /**
   * The caller's name if `authorization` holds a valid token for this workload; otherwise throws
   * CALLER_UNAUTHENTICATED. A verified token is remembered until its exp.
   */
  async verify(authorization: string | null | undefined): Promise<string> {
    if (!authorization?.startsWith('Bearer ')) throw callerUnauthenticated('no service token');
    const token = authorization.slice('Bearer '.length);
    const now = Date.now();
    const remembered = this.verified.get(token);
    if (remembered && remembered.expiresAt > now) return remembered.caller;
    if (remembered) this.verified.delete(token);
    let issuer: string | undefined;
    let kid: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
      kid = decodeProtectedHeader(token).kid;
    } catch (error) {
      throw callerUnauthenticated('malformed service token', error);
    }
    if (!issuer || !isWorkloadName(issuer))
      throw callerUnauthenticated('token names no known caller');
    let key: CryptoKey | undefined;
    try {
      key = await this.trusted(issuer, kid);
    } catch (error) {
      // An unreadable or refused key file: the caller cannot be authenticated (the cause says why).
      throw callerUnauthenticated(`no usable key for ${issuer}`, error);
    }
    if (!key) throw callerUnauthenticated(`no trusted key for ${issuer}`);
    let expiresAt: number;
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [algorithm],
        issuer,
        subject: issuer,
        audience: this.name,
        clockTolerance: Math.ceil(this.settings.clockSkewMs / 1000),
        requiredClaims: ['exp', 'iat'],
        maxTokenAge: Math.ceil((this.settings.tokenTtlMs + this.settings.clockSkewMs) / 1000),
      });
      expiresAt = (payload.exp as number) * 1000;
    } catch (error) {
      throw callerUnauthenticated('invalid service token', error);
    }
    this.remember(token, issuer, expiresAt);
    return issuer;
  }

  private remember(token: string, caller: string, expiresAt: number): void {
    const size = this.settings.verifiedTokenCacheSize;
    if (size <= 0) return;
    // Insertion order: the first key is the oldest entry.
    while (this.verified.size >= size) {
      const oldest = this.verified.keys().next().value;
      if (oldest === undefined) break;
      this.verified.delete(oldest);
    }
    this.verified.set(token, { caller, expiresAt });
  }
}

/**
 * Client side: adds this workload's token for `audience` to every call. Put it innermost (after
 * retries), so a retry after a renewal carries a fresh token.
 */
export function workloadCredentials(identity: WorkloadIdentity, audience: string): Interceptor {
  return (next) => async (request) => {
    request.header.set('authorization', await identity.authorization(audience));
    return next(request);
  };
}

/**
 * Server side: refuses a call without a valid token for this workload (CALLER_UNAUTHENTICATED) and a
 * call from a workload not listed for the procedure (CALLER_NOT_ALLOWED). Deny by default: a
 * procedure missing from `callers()` (`package.Service/Method` → workload names) is refused.
 */
export function rpcCallerCheck(
  identity: WorkloadIdentity,
  callers: () => Readonly<Record<string, readonly string[]>>,
): Interceptor {
  return (next) => async (request) => {
    const caller = await identity.verify(request.header.get('authorization'));
    const procedure = `${request.service.typeName}/${request.method.name}`;
    if (!callers()[procedure]?.includes(caller)) throw callerNotAllowed(caller, procedure);
    return next(request);
  };
}

// ---------------------------------------------------------------------------------------------
// Keys on disk: <keysDir>/<name>.private.jwk (this process) and <name>.public.jwk (every workload).

export interface WorkloadKeyFolderOptions {
  /** Folder with the key files; relative to `dataDir` unless absolute. */
  readonly keysDir: string;
  readonly dataDir: string;
  /** Create this workload's key pair when its files are missing (development only). */
  readonly generateDevKeys: boolean;
  /** `environment: production`: generated development keys and `generateDevKeys` are refused. */
  readonly production: boolean;
  /** A token from a workload whose public key was missing looks for the file again at most this often. */
  readonly trustRefreshMinIntervalMs: number;
}

export function workloadKeysDir(
  options: Pick<WorkloadKeyFolderOptions, 'keysDir' | 'dataDir'>,
): string {
  return isAbsolute(options.keysDir) ? options.keysDir : resolve(options.dataDir, options.keysDir);
}

function invalidKeys(message: string): AppError {
  return new AppError('WORKLOAD_IDENTITY_INVALID', message, { kind: 'invalid', permanent: true });
}

/**
 * A fresh Ed25519 key pair as JWKs. Marked as a development key (kid `dev-only:<name>:…`, refused in
 * production) unless `production` (`orderly workload-keys generate`, for the Secrets).
 */
export function generateWorkloadKeyPair(
  name: string,
  options: { production?: boolean } = {},
): { privateJwk: JWK; publicJwk: JWK } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = `${options.production ? '' : devKeyIdPrefix}${name}:${randomBytes(6).toString('hex')}`;
  const common = { kid, alg: algorithm, use: 'sig' };
  return {
    privateJwk: { ...(privateKey.export({ format: 'jwk' }) as JWK), ...common },
    publicJwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), ...common },
  };
}

/**
 * Writes `name`'s key pair unless it exists. Safe when several processes start at once: the files
 * are created by link(2) from a temporary file, so exactly one pair wins and the others read it.
 */
function ensureKeyFiles(dir: string, name: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateJwk, publicJwk } = generateWorkloadKeyPair(name);
  const temporary = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    // Public first: a reader that finds the private key always finds its public half.
    writeFileSync(`${temporary}.public`, JSON.stringify(publicJwk), { mode: 0o644 });
    writeFileSync(`${temporary}.private`, JSON.stringify(privateJwk), { mode: 0o600 });
    try {
      linkSync(`${temporary}.public`, join(dir, `${name}.public.jwk`));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw error;
    }
    linkSync(`${temporary}.private`, join(dir, `${name}.private.jwk`));
  } finally {
    rmSync(`${temporary}.public`, { force: true });
    rmSync(`${temporary}.private`, { force: true });
  }
}

function readJwk(file: string): JWK | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as JWK;
  } catch (error) {
    throw invalidKeys(`${file} is not a JSON Web Key: ${String(error)}`);
  }
}

function assertUsableKey(file: string, jwk: JWK, production: boolean, needsPrivate: boolean): void {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || (needsPrivate && !jwk.d))
    throw invalidKeys(`${file}: expected an Ed25519 ${needsPrivate ? 'private' : 'public'} JWK`);
  if (production && jwk.kid?.startsWith(devKeyIdPrefix))
    throw invalidKeys(
      `${file}: a generated development key is refused with environment: production; mount the ` +
        'workload key Secret (workloadIdentity.keysDir, see docs/security.md)',
    );
}

/**
 * `name`'s identity from the key folder, trusting every `<workload>.public.jwk` found there (read
 * when a workload is first seen, so a key added later, e.g. the operator's, is picked up).
 */
export async function openWorkloadIdentity(
  name: string,
  folder: WorkloadKeyFolderOptions,
  settings: WorkloadIdentitySettings,
): Promise<WorkloadIdentity> {
  if (!isWorkloadName(name)) throw invalidKeys(`workload name ${JSON.stringify(name)} is invalid`);
  const dir = workloadKeysDir(folder);
  const privateFile = join(dir, `${name}.private.jwk`);
  if (folder.production && folder.generateDevKeys)
    throw invalidKeys(
      'workloadIdentity.generateDevKeys: value true is invalid: generated development keys are refused ' +
        'with environment: production; mount the workload key Secret instead',
    );
  let privateJwk = readJwk(privateFile);
  if (!privateJwk && folder.generateDevKeys) {
    ensureKeyFiles(dir, name);
    privateJwk = readJwk(privateFile);
  }
  if (!privateJwk)
    throw invalidKeys(
      `no workload key for ${name} at ${privateFile} (mount it from a Secret, or set workloadIdentity.generateDevKeys in development)`,
    );
  assertUsableKey(privateFile, privateJwk, folder.production, true);
  const privateKey = (await importJWK(privateJwk, algorithm)) as CryptoKey;
  return new WorkloadIdentity(
    name,
    privateKey,
    privateJwk.kid ?? name,
    trustedKeysInFolder(dir, folder.production, folder.trustRefreshMinIntervalMs),
    settings,
  );
}

/**
 * Public keys read from `<dir>/<workload>.public.jwk`: one JWK, or a JWK Set (`{"keys": [...]}`) while
 * a workload's key is replaced (old and new both trusted until every caller signs with the new one).
 * A file is read when its workload is first seen, and again (at most every `refreshMs`) when a token
 * names a kid it does not hold or the file was missing: a key added or replaced later (the operator's,
 * a rotated Secret) is picked up without a restart.
 */
export function trustedKeysInFolder(
  dir: string,
  production: boolean,
  refreshMs: number,
): TrustedKeys {
  const files = new Map<
    string,
    { readAt: number; byKid: Map<string | undefined, Promise<CryptoKey>> }
  >();
  const read = (workload: string) => {
    const file = join(dir, `${workload}.public.jwk`);
    const byKid = new Map<string | undefined, Promise<CryptoKey>>();
    const content: (JWK & { keys?: JWK[] }) | undefined = readJwk(file);
    for (const jwk of content?.keys ?? (content ? [content] : [])) {
      assertUsableKey(file, jwk, production, false);
      // Only the public half, even if the file holds a whole key pair.
      const key = importJWK(
        { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
        algorithm,
      ) as Promise<CryptoKey>;
      byKid.set(jwk.kid, key);
    }
    const entry = { readAt: Date.now(), byKid };
    files.set(workload, entry);
    return entry;
  };
  const pick = (byKid: Map<string | undefined, Promise<CryptoKey>>, kid: string | undefined) =>
    byKid.get(kid) ?? (byKid.size === 1 && byKid.has(undefined) ? byKid.get(undefined) : undefined);
  return async (workload, kid) => {
    if (!isWorkloadName(workload)) return undefined;
    let entry = files.get(workload);
    if (!entry || (!pick(entry.byKid, kid) && Date.now() - entry.readAt >= refreshMs))
      entry = read(workload);
    return pick(entry.byKid, kid);
  };
}

/**
 * Identities for tests: in-memory key pairs, all trusting each other. `identity('gateway')` is the
 * gateway; make services and their test callers from the same set.
 */
export function memoryWorkloadIdentities(settings: WorkloadIdentitySettings): {
  identity(name: string): Promise<WorkloadIdentity>;
} {
  const pairs = new Map<
    string,
    Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; kid: string }>
  >();
  const pairOf = (name: string) => {
    let pair = pairs.get(name);
    if (!pair) {
      const { privateJwk, publicJwk } = generateWorkloadKeyPair(name);
      pair = Promise.all([importJWK(privateJwk, algorithm), importJWK(publicJwk, algorithm)]).then(
        ([privateKey, publicKey]) => ({
          privateKey: privateKey as CryptoKey,
          publicKey: publicKey as CryptoKey,
          kid: privateJwk.kid ?? name,
        }),
      );
      pairs.set(name, pair);
    }
    return pair;
  };
  const trusted: TrustedKeys = async (workload) =>
    pairs.has(workload) ? (await pairOf(workload)).publicKey : undefined;
  return {
    async identity(name) {
      const { privateKey, kid } = await pairOf(name);
      return new WorkloadIdentity(name, privateKey, kid, trusted, settings);
    },
  };
}
