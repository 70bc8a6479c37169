import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes with scrypt. The encoded form carries its own parameters
 * (`scrypt$N$r$p$salt$hash`, base64), so the configured cost can rise without invalidating
 * existing accounts; a hash weaker than the configured parameters is replaced at the next
 * successful login (`needsRehash`). Passwords and hashes are never logged.
 */
export interface ScryptParameters {
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelization: number;
  readonly keyLength: number;
  readonly saltLength: number;
  readonly maxMemoryBytes: number;
}

const scheme = 'scrypt';

function derive(
  password: string,
  salt: Buffer,
  keyLength: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export async function hashPassword(
  password: string,
  parameters: ScryptParameters,
): Promise<string> {
  const salt = randomBytes(parameters.saltLength);
  const hash = await derive(password, salt, parameters.keyLength, {
    N: parameters.cost,
    r: parameters.blockSize,
    p: parameters.parallelization,
    maxmem: parameters.maxMemoryBytes,
  });
  return [
    scheme,
    parameters.cost,
    parameters.blockSize,
    parameters.parallelization,
    salt.toString('base64'),
    hash.toString('base64'),
  ].join('$');
}

/**
 * True when `password` matches `encoded`. Constant-time comparison; a malformed stored hash never
 * matches. `maxMemoryBytes` bounds what a stored hash may ask for.
 */
export async function verifyPassword(
  password: string,
  encoded: string,
  maxMemoryBytes: number,
): Promise<boolean> {
  const [name, cost, blockSize, parallelization, salt, hash] = encoded.split('$');
  if (name !== scheme || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  if (expected.length === 0) return false;
  const actual = await derive(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(cost),
    r: Number(blockSize),
    p: Number(parallelization),
    maxmem: maxMemoryBytes,
  });
  return timingSafeEqual(actual, expected);
}

/**
 * True when `encoded` was made with weaker parameters than `parameters` (a lower N, r or p, a
 * shorter salt or key) or is not an scrypt hash we can read: the next successful login re-hashes
 * it. A stronger stored hash is kept (lowering the configured cost does not weaken accounts).
 */
export function needsRehash(encoded: string, parameters: ScryptParameters): boolean {
  const [name, cost, blockSize, parallelization, salt, hash] = encoded.split('$');
  if (name !== scheme || !salt || !hash) return true;
  return (
    Number(cost) < parameters.cost ||
    Number(blockSize) < parameters.blockSize ||
    Number(parallelization) < parameters.parallelization ||
    Buffer.from(salt, 'base64').length < parameters.saltLength ||
    Buffer.from(hash, 'base64').length < parameters.keyLength
  );
}

/**
 * Password hashing as the use cases call it: with the configured parameters, each hash run by
 * `schedule` (e.g. within a bounded number of slots, given up when the request is cancelled).
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** True when `password` matches `encoded` (see verifyPassword). */
  verify(password: string, encoded: string): Promise<boolean>;
  /** True when `encoded` is weaker than the configured parameters (see needsRehash). */
  needsRehash(encoded: string): boolean;
}

export function passwordHasher(
  parameters: ScryptParameters,
  schedule: <T>(work: () => Promise<T>) => Promise<T> = (work) => work(),
): PasswordHasher {
  return {
    hash: (password) => schedule(() => hashPassword(password, parameters)),
    verify: (password, encoded) =>
      schedule(() => verifyPassword(password, encoded, parameters.maxMemoryBytes)),
    needsRehash: (encoded) => needsRehash(encoded, parameters),
  };
}
