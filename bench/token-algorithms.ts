/**
 * What an access token costs to sign (identity, at every login and refresh) and to verify (the
 * gateway, once per token thanks to its verified-token cache) with each signing algorithm jose
 * offers for our keys: ES256 (the shipped one), EdDSA (Ed25519, the one identity can move to) and
 * ES384 (the alternative we did not pick). Same claims as identity's tokens. Not a test: it prints
 * figures (docs/deploy.md, "Moving tokens to another signing algorithm").
 *
 *   npm run bench:token-algorithms -- [--iterations 2000]
 */
import { randomUUID } from 'node:crypto';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';

const args = process.argv.slice(2);
const index = args.indexOf('--iterations');
const iterations = Number(index >= 0 ? args[index + 1] : 2000);
if (!Number.isInteger(iterations) || iterations < 1) {
  console.error('--iterations must be a positive integer');
  process.exit(2);
}

const issuer = 'urn:orderly:identity';
const audience = 'urn:orderly:api';

async function sign(alg: string, privateKey: CryptoKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'customer' })
    .setProtectedHeader({ alg, kid: 'bench', typ: 'JWT' })
    .setSubject(randomUUID())
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 900)
    .setJti(randomUUID())
    .sign(privateKey);
}

console.log(
  `node ${process.version}, ${iterations} iterations each (after ${iterations / 10} warm-up)`,
);
console.log('alg\tsign µs\tverify µs\ttoken bytes');
for (const alg of ['ES256', 'EdDSA', 'ES384']) {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  for (let i = 0; i < iterations / 10; i++)
    await jwtVerify(await sign(alg, privateKey), publicKey, { algorithms: [alg] });
  const tokens: string[] = [];
  let started = performance.now();
  for (let i = 0; i < iterations; i++) tokens.push(await sign(alg, privateKey));
  const signUs = ((performance.now() - started) * 1000) / iterations;
  started = performance.now();
  for (const token of tokens)
    await jwtVerify(token, publicKey, { algorithms: [alg], issuer, audience });
  const verifyUs = ((performance.now() - started) * 1000) / iterations;
  console.log(`${alg}\t${signUs.toFixed(0)}\t${verifyUs.toFixed(0)}\t${tokens[0]?.length ?? 0}`);
}
