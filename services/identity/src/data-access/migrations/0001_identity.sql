-- Identity: accounts, the keys that sign access tokens, and refresh tokens (hashed).

CREATE TABLE IF NOT EXISTS users (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- stored lower-cased: one account per address whatever its case
  email          text NOT NULL UNIQUE CHECK (email = lower(email) AND char_length(email) BETWEEN 3 AND 320),
  -- scrypt$N$r$p$salt$hash; never the password
  password_hash  text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  role           text NOT NULL CHECK (role IN ('customer', 'admin')),
  created_at     timestamptz NOT NULL
);

-- ES256 signing keys. The private key is sealed (AES-256-GCM under the configured key-encryption
-- key) and dropped once the key is retired. Exactly one key is active at a time.
CREATE TABLE IF NOT EXISTS signing_keys (
  kid                  text PRIMARY KEY,
  public_jwk           jsonb NOT NULL,
  sealed_private_key   bytea,
  status               text NOT NULL CHECK (status IN ('active', 'retiring', 'retired')),
  created_at           timestamptz NOT NULL,
  -- set when the key is replaced: it stays published until then
  retire_after         timestamptz,
  retired_at           timestamptz,
  CHECK ((status = 'active') = (retire_after IS NULL)),
  CHECK ((status = 'retired') = (retired_at IS NOT NULL)),
  CHECK (status = 'retired' OR sealed_private_key IS NOT NULL)
);

CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_active ON signing_keys ((true)) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS signing_keys_retiring ON signing_keys (retire_after) WHERE status = 'retiring';

-- Refresh tokens by SHA-256; a family is every token rotated from one login.
CREATE TABLE IF NOT EXISTS refresh_tokens (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  user_id      uuid NOT NULL REFERENCES users (id),
  family_id    uuid NOT NULL,
  status       text NOT NULL CHECK (status IN ('active', 'rotated', 'revoked')),
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL CHECK (expires_at > created_at),
  used_at      timestamptz
);

CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);
