import type { GatewayConfig } from '../../config.js';
import { errorResponses, noSecurity } from '../http/json-schemas.js';

/** JSON schemas of /v1/auth/* and the JWKS (see ../http/json-schemas.ts for how they are used). */
type AuthLimits = GatewayConfig['auth'];

const credentials = (limits: AuthLimits) => ({
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password'],
  properties: {
    email: {
      type: 'string',
      minLength: 3,
      maxLength: limits.emailMaxLength,
      examples: ['alice@example.com'],
    },
    password: { type: 'string', minLength: 1, maxLength: limits.passwordMaxLength },
  },
});

const refreshBody = (limits: AuthLimits) => ({
  type: 'object',
  additionalProperties: false,
  required: ['refreshToken'],
  properties: {
    refreshToken: { type: 'string', minLength: 1, maxLength: limits.refreshTokenMaxLength },
  },
});

const tokenResponse = {
  description: 'A new access token (ES256 JWT) and refresh token. Cache-Control: no-store.',
  type: 'object',
  additionalProperties: false,
  required: ['accessToken', 'tokenType', 'expiresIn', 'refreshToken', 'refreshExpiresIn'],
  properties: {
    accessToken: { type: 'string', description: 'Send as Authorization: Bearer <accessToken>.' },
    tokenType: { type: 'string', enum: ['Bearer'] },
    expiresIn: { type: 'integer', description: 'Seconds until the access token expires.' },
    refreshToken: {
      type: 'string',
      description: 'Single use: POST /v1/auth/refresh answers a new one.',
    },
    refreshExpiresIn: { type: 'integer' },
  },
} as const;

const userSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['userId', 'email', 'role'],
  properties: {
    userId: { type: 'string', description: 'The `sub` of this user’s access tokens.' },
    email: { type: 'string' },
    role: { type: 'string', enum: ['customer', 'admin'] },
  },
} as const;

const authErrors = [400, 413, 415, 429, 500, 503, 504];

export function registerSchema(limits: AuthLimits) {
  return {
    operationId: 'register',
    summary: 'Create a customer account',
    description: 'The password policy (length) is checked by the identity service.',
    tags: ['auth'],
    security: noSecurity,
    body: credentials(limits),
    response: {
      201: { description: 'The new account.', ...userSchema },
      ...errorResponses([409, ...authErrors]),
    },
  };
}

export function loginSchema(limits: AuthLimits) {
  return {
    operationId: 'login',
    summary: 'Log in: an access token and a refresh token',
    description:
      'A wrong email or password is 401 IDENTITY_INVALID_CREDENTIALS. Login attempts are limited ' +
      'per client address and per account much more strictly than other routes (429 with Retry-After).',
    tags: ['auth'],
    security: noSecurity,
    body: credentials(limits),
    response: { 200: tokenResponse, ...errorResponses([401, ...authErrors]) },
  };
}

export function refreshSchema(limits: AuthLimits) {
  return {
    operationId: 'refresh',
    summary: 'Exchange a refresh token for a new pair',
    description:
      'Each refresh token works once. Presenting a used one again revokes every token of that ' +
      'login (401 IDENTITY_INVALID_REFRESH_TOKEN).',
    tags: ['auth'],
    security: noSecurity,
    body: refreshBody(limits),
    response: { 200: tokenResponse, ...errorResponses([401, ...authErrors]) },
  };
}

export function logoutSchema(limits: AuthLimits) {
  return {
    operationId: 'logout',
    summary: 'Revoke a refresh token and every token rotated from the same login',
    description:
      'Always 204, also for an unknown token. Access tokens already issued stay valid until they expire.',
    tags: ['auth'],
    security: noSecurity,
    body: refreshBody(limits),
    response: {
      204: { description: 'Revoked (or nothing to revoke).', type: 'null' },
      ...errorResponses(authErrors),
    },
  };
}

export const jwksSchema = {
  operationId: 'getJwks',
  summary: 'The public keys that verify access tokens (RFC 7517 JWK Set)',
  description:
    'Every key that may still verify a live token: the signing key and, after a rotation, the ' +
    'previous one until all tokens it signed have expired. During a signing-algorithm migration ' +
    'it holds keys of both algorithms (ES256 and EdDSA); pick the key by kid and its alg.',
  tags: ['auth'],
  security: noSecurity,
  response: {
    200: {
      description: 'The JWK Set.',
      type: 'object',
      additionalProperties: false,
      required: ['keys'],
      properties: {
        keys: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['kty', 'crv', 'x', 'kid', 'alg', 'use'],
            properties: {
              kty: { type: 'string', description: 'EC (alg ES256) or OKP (alg EdDSA, RFC 8037).' },
              crv: { type: 'string', description: 'P-256 (EC) or Ed25519 (OKP).' },
              x: { type: 'string' },
              y: { type: 'string', description: 'EC keys only.' },
              kid: { type: 'string' },
              alg: { type: 'string' },
              use: { type: 'string' },
            },
          },
        },
      },
    },
    ...errorResponses([429, 500, 503, 504]),
  },
};
