-- Signing keys record the algorithm they sign with, so identity can move from ES256 to EdDSA
-- (Ed25519) by configuration: keys made before this migration are ES256, the only one there was.
-- The public JWK carries the same alg (the JWKS publishes it; verifiers pick the algorithm by it).

ALTER TABLE signing_keys ADD COLUMN alg text NOT NULL DEFAULT 'ES256';
ALTER TABLE signing_keys ALTER COLUMN alg DROP DEFAULT;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_alg_known CHECK (alg IN ('ES256', 'EdDSA'));
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_alg_matches_jwk CHECK (public_jwk ->> 'alg' = alg);
