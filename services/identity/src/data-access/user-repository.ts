import type { Sql } from '@orderly/platform';
import type { Role, User } from '../domain/account.js';

/** SQL for accounts. The password hash leaves this file only towards verification. */

interface UserRow {
  id: string;
  email: string;
  role: Role;
  password_hash: string;
}

const toUser = (row: UserRow): User => ({ id: row.id, email: row.email, role: row.role });

/** Inserts the account; undefined when the email is already registered. */
export async function insertUser(
  sql: Sql,
  user: { email: string; passwordHash: string; role: Role },
  now: Date,
): Promise<User | undefined> {
  const { rows } = await sql.query<UserRow>(
    `INSERT INTO users (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (email) DO NOTHING
     RETURNING id, email, role, password_hash`,
    [user.email, user.passwordHash, user.role, now],
  );
  return rows[0] ? toUser(rows[0]) : undefined;
}

export async function findUserByEmail(
  sql: Sql,
  email: string,
): Promise<{ user: User; passwordHash: string } | undefined> {
  const { rows } = await sql.query<UserRow>(
    'SELECT id, email, role, password_hash FROM users WHERE email = $1',
    [email],
  );
  const row = rows[0];
  return row ? { user: toUser(row), passwordHash: row.password_hash } : undefined;
}

export async function findUserById(sql: Sql, id: string): Promise<User | undefined> {
  const { rows } = await sql.query<UserRow>(
    'SELECT id, email, role, password_hash FROM users WHERE id = $1',
    [id],
  );
  return rows[0] ? toUser(rows[0]) : undefined;
}

/**
 * Replaces the password hash of `userId` if it is still `previousHash` (a password changed
 * meanwhile is not overwritten); true when it was replaced.
 */
export async function replacePasswordHash(
  sql: Sql,
  userId: string,
  previousHash: string,
  passwordHash: string,
): Promise<boolean> {
  const { rowCount } = await sql.query(
    'UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2',
    [userId, previousHash, passwordHash],
  );
  return rowCount === 1;
}
