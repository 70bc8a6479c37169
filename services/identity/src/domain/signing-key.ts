import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';

/**
 * Signing keys: key pairs of one of the signing algorithms, ES256 (ECDSA P-256, the first one) or
 * EdDSA (Ed25519). Each key keeps the algorithm it was made for; the configured algorithm only
 * decides what the next key is made with. The private half is sealed with AES-256-GCM under the
 * configured key-encryption key before it is stored (the key id is the additional authenticated
 * data, so a sealed key cannot be swapped onto another row). The public half is published in the
 * JWKS while any token it signed may still be live.
 */
export const signingAlgorithms = ['ES256', 'EdDSA'] as const;

export type SigningAlgorithm = (typeof signingAlgorithms)[number];

export type SigningKeyStatus = 'active' | 'retiring' | 'retired';

/** A public key as a JWK: EC keys (ES256) carry x and y, OKP keys (EdDSA, RFC 8037) x only. */
export interface PublicJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly y?: string;
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly use: 'sig';
}

export interface NewSigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly publicJwk: PublicJwk;
  readonly sealedPrivateKey: Buffer;
}

const sealVersion = 1;
const ivLength = 12;
const tagLength = 16;

export async function generateSigningKey(
  alg: SigningAlgorithm,
  keyEncryptionKey: Buffer,
): Promise<NewSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(
    alg,
    alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true },
  );
  const publicParts = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicParts);
  const publicJwk: PublicJwk = {
    kty: publicParts.kty ?? '',
    crv: publicParts.crv ?? '',
    x: publicParts.x ?? '',
    ...(publicParts.y === undefined ? {} : { y: publicParts.y }),
    kid,
    alg,
    use: 'sig',
  };
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    alg,
    publicJwk,
    sealedPrivateKey: sealPrivateKey(privateJwk, kid, keyEncryptionKey),
  };
}

export function sealPrivateKey(privateJwk: JWK, kid: string, keyEncryptionKey: Buffer): Buffer {
  const iv = randomBytes(ivLength);
  const cipher = createCipheriv('aes-256-gcm', keyEncryptionKey, iv, { authTagLength: tagLength });
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const ciphertext = Buffer.concat([
    cipher.update(JSON.stringify(privateJwk), 'utf8'),
    cipher.final(),
  ]);
  return Buffer.concat([Buffer.from([sealVersion]), iv, cipher.getAuthTag(), ciphertext]);
}

/** Opens a sealed private key; throws when the key-encryption key, the kid or the alg does not match. */
export async function openPrivateKey(
  sealed: Buffer,
  kid: string,
  alg: SigningAlgorithm,
  keyEncryptionKey: Buffer,
): Promise<CryptoKey> {
  if (sealed[0] !== sealVersion) throw new Error(`unknown seal version ${String(sealed[0])}`);
  const iv = sealed.subarray(1, 1 + ivLength);
  const tag = sealed.subarray(1 + ivLength, 1 + ivLength + tagLength);
  const ciphertext = sealed.subarray(1 + ivLength + tagLength);
  const decipher = createDecipheriv('aes-256-gcm', keyEncryptionKey, iv, {
    authTagLength: tagLength,
  });
  decipher.setAAD(Buffer.from(kid, 'utf8'));
  decipher.setAuthTag(tag);
  const json = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  const key = await importJWK(JSON.parse(json) as JWK, alg);
  if (key instanceof Uint8Array) throw new Error('a signing key must be asymmetric');
  return key;
}

/**
 * When a replaced key may leave the JWKS: once every token it signed has expired, allowing for
 * verifiers whose clocks run behind.
 */
export function retireAfter(replacedAt: Date, accessTokenTtlMs: number, clockSkewMs: number): Date {
  return new Date(replacedAt.getTime() + accessTokenTtlMs + clockSkewMs);
}
