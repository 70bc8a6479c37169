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
 * Signing keys: ES256 (P-256) key pairs. The private half is sealed with AES-256-GCM under the
 * configured key-encryption key before it is stored (the key id is the additional authenticated
 * data, so a sealed key cannot be swapped onto another row). The public half is published in the
 * JWKS while any token it signed may still be live.
 */
export const signingAlgorithm = 'ES256';

export type SigningKeyStatus = 'active' | 'retiring' | 'retired';

export interface PublicJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: typeof signingAlgorithm;
  readonly use: 'sig';
}

export interface NewSigningKey {
  readonly kid: string;
  readonly publicJwk: PublicJwk;
  readonly sealedPrivateKey: Buffer;
}

const sealVersion = 1;
const ivLength = 12;
const tagLength = 16;

export async function generateSigningKey(keyEncryptionKey: Buffer): Promise<NewSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(signingAlgorithm, { extractable: true });
  const publicParts = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicParts);
  const publicJwk: PublicJwk = {
    kty: publicParts.kty ?? 'EC',
    crv: publicParts.crv ?? 'P-256',
    x: publicParts.x ?? '',
    y: publicParts.y ?? '',
    kid,
    alg: signingAlgorithm,
    use: 'sig',
  };
  const privateJwk = await exportJWK(privateKey);
  return { kid, publicJwk, sealedPrivateKey: sealPrivateKey(privateJwk, kid, keyEncryptionKey) };
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

/** Opens a sealed private key; throws when the key-encryption key or the kid does not match. */
export async function openPrivateKey(
  sealed: Buffer,
  kid: string,
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
  const key = await importJWK(JSON.parse(json) as JWK, signingAlgorithm);
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
