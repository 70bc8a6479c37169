import type { Sql } from '@orderly/platform';
import type { RefreshTokenStatus, StoredRefreshToken } from '../domain/refresh-token.js';

/** SQL for refresh tokens, looked up by their SHA-256 only. */

interface RefreshTokenRow {
  id: string;
  user_id: string;
  family_id: string;
  status: RefreshTokenStatus;
  expires_at: Date;
}

export async function insertRefreshToken(
  sql: Sql,
  token: { hash: Buffer; userId: string; familyId: string; expiresAt: Date },
  now: Date,
): Promise<void> {
  await sql.query(
    `INSERT INTO refresh_tokens (token_hash, user_id, family_id, status, created_at, expires_at)
     VALUES ($1, $2, $3, 'active', $4, $5)`,
    [token.hash, token.userId, token.familyId, now, token.expiresAt],
  );
}

/** Locks the token row, so two refreshes with the same token are decided one after the other. */
export async function lockRefreshToken(
  sql: Sql,
  hash: Buffer,
): Promise<StoredRefreshToken | undefined> {
  const { rows } = await sql.query<RefreshTokenRow>(
    `SELECT id, user_id, family_id, status, expires_at FROM refresh_tokens
     WHERE token_hash = $1 FOR UPDATE`,
    [hash],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    userId: row.user_id,
    familyId: row.family_id,
    status: row.status,
    expiresAt: row.expires_at,
  };
}

export async function markRotated(sql: Sql, id: string, now: Date): Promise<void> {
  await sql.query(`UPDATE refresh_tokens SET status = 'rotated', used_at = $2 WHERE id = $1`, [
    id,
    now,
  ]);
}

/** Revokes every token of the family that is not revoked yet; returns how many. */
export async function revokeFamily(sql: Sql, familyId: string): Promise<number> {
  const { rowCount } = await sql.query(
    `UPDATE refresh_tokens SET status = 'revoked' WHERE family_id = $1 AND status <> 'revoked'`,
    [familyId],
  );
  return rowCount;
}
