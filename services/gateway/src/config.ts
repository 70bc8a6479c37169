import { z } from 'zod';
import { configValue, reloadable, serviceEndpointsShape } from '@orderly/platform';
import { tokenAlgorithms } from './entry-points/auth/access-token-verifier.js';
import { publicRouteKeys } from './entry-points/http/public-routes.js';

const rateLimitSchema = z.strictObject({
  burst: configValue.positiveInt(),
  perMinute: configValue.positiveInt(),
});

/** A browser origin: scheme, host and optional port, nothing after (`https://shop.example.com`). */
const originSchema = z
  .string()
  .regex(/^https?:\/\/[^/?#\s]+$/, 'an origin: http(s)://host[:port], without a path');

/** A public API version: `1`, `2`, ... */
const contractVersionSchema = z.string().regex(/^[1-9][0-9]{0,2}$/, 'a version number: 1, 2, ...');

/** `services.gateway` in config/default.yaml: every address, budget and limit of the public API. */
export const gatewayConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  /** operatorPort (/metrics, admin endpoints) and rpcCallers (who may call each RPC). */
  ...serviceEndpointsShape,
  orderServiceUrl: configValue.url(),
  inventoryServiceUrl: configValue.url(),
  identityServiceUrl: configValue.url(),
  /** The risk service: the admin review queue (/v1/admin/risk/reviews). */
  riskServiceUrl: configValue.url(),
  /** Whole-request budget; the time left travels to the services as their deadline. */
  // Reloadable: a change rebuilds the HTTP app (schemas, hooks, OpenAPI) and swaps it in (see app.ts).
  requestTimeoutMs: reloadable(configValue.positiveInt()),
  bodyLimitBytes: reloadable(configValue.positiveInt()),
  maxLinesPerOrder: reloadable(configValue.positiveInt()),
  maxQuantityPerLine: reloadable(configValue.positiveInt()),
  idempotencyKeyMaxLength: reloadable(configValue.positiveInt()),
  /** Largest `?limit=` of every list (orders, products, admin search), and the page size when it is absent. */
  listLimitMax: reloadable(configValue.positiveInt()),
  /** Longest `?cursor=` accepted (cursors are opaque; the lists give out much shorter ones). */
  cursorMaxLength: reloadable(configValue.positiveInt()),
  /** Access tokens: JWTs from this issuer for this audience, verified against the JWKS. */
  auth: z.strictObject({
    /**
     * The signing algorithms accepted now (reloadable): both during a migration window, then only the
     * new one; a token of an algorithm left out gets 401 AUTH_TOKEN_ALGORITHM_NOT_ACCEPTED.
     */
    acceptedAlgorithms: reloadable(
      z
        .array(z.enum(tokenAlgorithms))
        .min(1, 'at least one algorithm')
        .refine((algs) => new Set(algs).size === algs.length, 'each algorithm once'),
    ),
    issuer: z.string().min(1),
    audience: z.string().min(1),
    clockSkewMs: configValue.durationMs(),
    jwksRefetchMinIntervalMs: configValue.durationMs(),
    jwksMaxAgeMs: configValue.positiveInt(),
    maxTokenLength: configValue.positiveInt(),
    verifiedTokenCacheSize: configValue.nonNegativeInt(),
    emailMaxLength: configValue.positiveInt(),
    passwordMaxLength: configValue.positiveInt(),
    refreshTokenMaxLength: configValue.positiveInt(),
  }),
  /** Calls waiting on the order service at once; more are refused with 503 + Retry-After (load shedding). */
  orderServiceMaxInFlight: reloadable(configValue.positiveInt()),
  /**
   * PlaceOrder calls gathered into one PlaceOrders call: at most `maxBatch` orders per call and
   * `maxInFlight` calls at once; a request that finds a free slot is sent at once, alone.
   */
  orderIntakeBatch: reloadable(
    z.strictObject({
      maxBatch: configValue.positiveInt(),
      maxInFlight: configValue.positiveInt(),
    }),
  ),
  /** The Retry-After (seconds) of a request refused because an upstream is at capacity. */
  overloadRetryAfterSeconds: reloadable(configValue.positiveInt()),
  /** After the order service shed a PlaceOrder (ORDER_INTAKE_SATURATED), answer that here for this long (ms; 0: never). */
  /**
   * Public API versions served side by side (docs/contracts.md): the default when a request names
   * none, and each version's lifecycle (current, deprecated, retired) with its sunset and successor.
   */
  contract: z
    .strictObject({
      defaultVersion: reloadable(contractVersionSchema),
      versions: reloadable(
        z.record(
          contractVersionSchema,
          z.strictObject({
            lifecycle: z.enum(['current', 'deprecated', 'retired']),
            /** ISO 8601 date-time after which the version is (to be) retired. */
            sunset: z.iso.datetime({ offset: true }).optional(),
            /**
             * When it was deprecated (the Deprecation header); absent: when this configuration
             * took effect.
             */
            deprecatedAt: z.iso.datetime({ offset: true }).optional(),
            successor: contractVersionSchema.optional(),
          }),
        ),
      ),
      /**
       * One route's lifecycle, whatever the version (`"GET /v1/orders/{orderId}": { lifecycle:
       * deprecated, ... }`): deprecated → Deprecation/Sunset/Link on its answers; retired → 410
       * ROUTE_RETIRED. Keys are the public routes (`publicRouteKeys`), any other is refused.
       */
      routes: reloadable(
        z
          .record(
            z.string(),
            z.strictObject({
              lifecycle: z.enum(['deprecated', 'retired']),
              /** ISO 8601 date-time after which the route is (to be) retired. */
              sunset: z.iso.datetime({ offset: true }).optional(),
              /** When it was deprecated; absent: when this configuration took effect. */
              deprecatedAt: z.iso.datetime({ offset: true }).optional(),
              /** What to call instead: `METHOD /path` of this API, or a URL. */
              successor: z
                .string()
                .regex(
                  /^(?:(?:GET|POST|PUT|PATCH|DELETE) \/\S*|https?:\/\/\S+)$/,
                  'METHOD /path (e.g. GET /v1/orders) or an http(s) URL',
                )
                .optional(),
            }),
          )
          .default({}),
      ),
      callersKept: configValue.positiveInt(),
    })
    .superRefine((contract, context) => {
      for (const route of Object.keys(contract.routes))
        if (!publicRouteKeys.includes(route))
          context.addIssue({
            code: 'custom',
            path: ['routes', route],
            message: `unknown route ${JSON.stringify(route)}; the public routes are: ${publicRouteKeys.join(', ')}`,
          });
      const known = Object.keys(contract.versions);
      if (!known.includes(contract.defaultVersion))
        context.addIssue({
          code: 'custom',
          path: ['defaultVersion'],
          message: `must be one of the configured versions (${known.join(', ')})`,
        });
      for (const [version, settings] of Object.entries(contract.versions))
        if (settings.successor !== undefined && !known.includes(settings.successor))
          context.addIssue({
            code: 'custom',
            path: ['versions', version, 'successor'],
            message: `must be one of the configured versions (${known.join(', ')})`,
          });
    }),
  orderServiceShedHoldMs: reloadable(configValue.durationMs()),
  /** Token buckets: `burst` at once, refilled at `perMinute`. */
  rateLimits: z
    .strictObject({
      perAddress: reloadable(rateLimitSchema),
      perUser: reloadable(rateLimitSchema),
      login: reloadable(rateLimitSchema),
      loginAccount: reloadable(rateLimitSchema),
      /** Buckets kept in one process's memory at most (embedded mode, and while the shared store is away). */
      maxTrackedKeys: configValue.positiveInt(),
      /**
       * Distributed mode (bus.kind nats): the buckets live in this JetStream key-value bucket, which
       * every gateway replica shares, so a client gets its limit once however many replicas serve it.
       */
      shared: z.strictObject({
        bucket: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
        /** A bucket nobody used for this long is forgotten (and starts full): at least every policy's window. */
        entryTtlMs: configValue.positiveInt(),
        /** Most memory the key-value bucket takes on NATS; when full, new keys are limited per replica. */
        maxBytes: configValue.positiveInt(),
        /** Longest a request waits for the shared store before its bucket is taken locally instead. */
        operationTimeoutMs: configValue.positiveInt(),
        /** Compare-and-set attempts when replicas change one bucket at once. */
        maxAttempts: configValue.positiveInt(),
        /**
         * A bucket this replica keeps busy is written at most about once per interval (the requests
         * of the interval together), leaving room for the other replicas; retries wait longer.
         */
        roundIntervalMs: configValue.positiveInt(),
      }),
    })
    .superRefine((limits, context) => {
      const policies = ['perAddress', 'perUser', 'login', 'loginAccount'] as const;
      const longest = Math.max(
        ...policies.map((name) => (limits[name].burst / limits[name].perMinute) * 60_000),
      );
      if (limits.shared.entryTtlMs < longest)
        context.addIssue({
          code: 'custom',
          path: ['shared', 'entryTtlMs'],
          message: `must be at least the longest policy window (burst / perMinute), ${Math.ceil(longest)} ms, or an emptied bucket would be forgotten before it refilled`,
        });
    }),
  /** Browsers on these origins may call the API (CORS); none when empty. */
  cors: z.strictObject({
    allowedOrigins: reloadable(z.array(originSchema)),
    /** How long a browser may keep a preflight's answer (Access-Control-Max-Age). */
    maxAgeSeconds: reloadable(configValue.nonNegativeInt()),
  }),
  /** The operator console at /console (admin role only) and the routes it reads. */
  operatorConsole: z.strictObject({
    /**
     * Each service's operator port by service name (`order: http://order:9081`). A service not
     * named here is reached on its own section's host and operatorPort.
     */
    operatorUrls: reloadable(z.record(z.string(), configValue.url())),
    /** The service whose operator port lists and redrives the dead letters (any service on the bus). */
    deadLettersFrom: reloadable(z.string().min(1)),
    /** How often the console asks for fresh figures. */
    refreshIntervalMs: reloadable(configValue.positiveInt()),
    /** Feature-flag changes the gateway remembers for the console's audit trail. */
    flagChangesKept: configValue.positiveInt(),
  }),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
