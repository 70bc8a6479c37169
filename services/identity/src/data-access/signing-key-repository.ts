import type { Sql } from '@orderly/platform';
import type {
  NewSigningKey,
  PublicJwk,
  SigningAlgorithm,
  SigningKeyStatus,
} from '../domain/signing-key.js';

/** SQL for signing keys. At most one is active (a unique partial index guards it). */

interface SigningKeyRow {
  kid: string;
  alg: SigningAlgorithm;
  public_jwk: PublicJwk;
  sealed_private_key: Buffer | null;
  status: SigningKeyStatus;
  retire_after: Date | null;
}

export interface ActiveSigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly sealedPrivateKey: Buffer;
}

export async function findActiveKey(sql: Sql): Promise<ActiveSigningKey | undefined> {
  const { rows } = await sql.query<SigningKeyRow>(
    `SELECT kid, alg, sealed_private_key FROM signing_keys WHERE status = 'active'`,
  );
  const row = rows[0];
  return row?.sealed_private_key
    ? { kid: row.kid, alg: row.alg, sealedPrivateKey: row.sealed_private_key }
    : undefined;
}

/** Locks the active key (if any), so concurrent rotations happen one after the other. */
export async function lockActiveKey(
  sql: Sql,
): Promise<{ kid: string; alg: SigningAlgorithm } | undefined> {
  const { rows } = await sql.query<{ kid: string; alg: SigningAlgorithm }>(
    `SELECT kid, alg FROM signing_keys WHERE status = 'active' FOR UPDATE`,
  );
  return rows[0];
}

export async function insertActiveKey(sql: Sql, key: NewSigningKey, now: Date): Promise<void> {
  await sql.query(
    `INSERT INTO signing_keys (kid, alg, public_jwk, sealed_private_key, status, created_at)
     VALUES ($1, $2, $3, $4, 'active', $5)`,
    [key.kid, key.alg, JSON.stringify(key.publicJwk), key.sealedPrivateKey, now],
  );
}

export async function markRetiring(sql: Sql, kid: string, retireAfter: Date): Promise<void> {
  await sql.query(
    `UPDATE signing_keys SET status = 'retiring', retire_after = $2 WHERE kid = $1 AND status = 'active'`,
    [kid, retireAfter],
  );
}

/** Every key that may still verify a live token: the active one and those retiring. */
export async function listPublishedKeys(sql: Sql): Promise<PublicJwk[]> {
  const { rows } = await sql.query<SigningKeyRow>(
    `SELECT public_jwk FROM signing_keys WHERE status IN ('active', 'retiring')
     ORDER BY status = 'active' DESC, created_at DESC`,
  );
  return rows.map((row) => row.public_jwk);
}

/** Retires keys whose tokens have all expired, and forgets their private halves. */
export async function retireDueKeys(sql: Sql, now: Date): Promise<string[]> {
  const { rows } = await sql.query<{ kid: string }>(
    `UPDATE signing_keys SET status = 'retired', retired_at = $1, sealed_private_key = NULL
     WHERE status = 'retiring' AND retire_after <= $1
     RETURNING kid`,
    [now],
  );
  return rows.map((row) => row.kid);
}
