import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type Flags, type Logger } from '@orderly/platform';
import type { GatewayConfig } from '../../config.js';
import { envelope } from './http-errors.js';
import { isPublicRoute, routeKeyOf } from './public-routes.js';

/**
 * Public API versions served side by side (docs/contracts.md). The client picks one with
 * `X-Contract-Version`; without it the gateway serves `contract.defaultVersion`, or what the flag
 * `contract-default-version` says when it names a version. Every answer carries the version it was
 * served in. A version's lifecycle (reloadable configuration) decides what its callers get:
 * current → the answer; deprecated → the answer with Deprecation, Sunset and a successor Link;
 * retired → 410 CONTRACT_VERSION_RETIRED on the versioned routes. Calls under a deprecated or retired
 * version are counted by caller (`ContractCallers`) for `GET /admin/contracts/callers`.
 *
 * A public route has a lifecycle of its own too (`contract.routes`, whatever the version):
 * deprecated → the same headers, the Link naming the route to call instead; retired → 410
 * ROUTE_RETIRED. Its callers are counted in the same place, marked with `routeLifecycle`.
 */
export const contractVersionHeader = 'x-contract-version';
export const contractDefaultVersionFlag = 'contract-default-version';

export type ContractConfig = GatewayConfig['contract'];
export type Lifecycle = ContractConfig['versions'][string]['lifecycle'];
export type RouteLifecycle = ContractConfig['routes'][string]['lifecycle'];

declare module 'fastify' {
  interface FastifyRequest {
    /** The public API version this request is served in (set by the first onRequest hook). */
    contractVersion: string;
  }
  interface FastifyContextConfig {
    /** The route's JSON differs between versions: lifecycle rules and caller tracking apply. */
    versioned?: boolean;
  }
}

const versionPattern = /^[1-9][0-9]{0,2}$/;

export const contractVersionUnsupported = (given: string, supported: readonly string[]) =>
  new AppError(
    'CONTRACT_VERSION_UNSUPPORTED',
    `X-Contract-Version ${JSON.stringify(given)} is not a version this API serves; supported: ${supported.join(', ')}`,
    { kind: 'invalid' },
  );

/**
 * A field of one version sent in a request of the other: `field` belongs to `fieldVersion`, the
 * request was served as `servedVersion`.
 */
export const contractVersionMismatch = (message: string) =>
  new AppError('CONTRACT_VERSION_MISMATCH', message, { kind: 'invalid' });

export const mixedCurrencies = (message: string) =>
  new AppError('MIXED_CURRENCIES', message, { kind: 'invalid' });

/** The flag's value, kept current from flag changes so no request waits on an evaluation. */
export class DefaultVersionFlag {
  private value = '';
  private readonly stop: (() => void) | undefined;

  constructor(
    private readonly flags: Flags | undefined,
    private readonly log: Logger,
  ) {
    this.stop = flags?.onChange(() => void this.refresh());
    void this.refresh();
  }

  /** The version the flag names, or '' when it leaves the default to configuration. */
  get current(): string {
    return this.value;
  }

  async refresh(): Promise<void> {
    if (!this.flags) return;
    try {
      this.value = await this.flags.string(contractDefaultVersionFlag, '');
    } catch (error) {
      this.log.warn({ err: error }, 'contract-default-version flag not read, configuration used');
    }
  }

  close(): void {
    this.stop?.();
  }
}

/** One caller of one version on one route. */
export interface ContractCaller {
  readonly caller: string;
  readonly version: string;
  readonly route: string;
  calls: number;
  readonly firstSeenAt: string;
  lastSeenAt: string;
  /** The route's own lifecycle at the last call, when `contract.routes` gives it one. */
  routeLifecycle?: RouteLifecycle;
}

/** Calls served under deprecated or retired versions, by caller, version and route (bounded). */
export class ContractCallers {
  private readonly byKey = new Map<string, ContractCaller>();

  constructor(
    private readonly maxKept: () => number,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  record(
    caller: string,
    version: string,
    route: string,
    routeLifecycle?: RouteLifecycle,
  ): ContractCaller {
    const key = `${caller}\u0000${version}\u0000${route}`;
    const now = this.clock().toISOString();
    const known = this.byKey.get(key);
    if (known) {
      known.calls += 1;
      known.lastSeenAt = now;
      if (routeLifecycle) known.routeLifecycle = routeLifecycle;
      else delete known.routeLifecycle;
      // Most recently seen last, so the oldest is evicted first.
      this.byKey.delete(key);
      this.byKey.set(key, known);
      return known;
    }
    const entry: ContractCaller = {
      caller,
      version,
      route,
      calls: 1,
      firstSeenAt: now,
      lastSeenAt: now,
      ...(routeLifecycle ? { routeLifecycle } : {}),
    };
    this.byKey.set(key, entry);
    while (this.byKey.size > this.maxKept()) {
      const oldest = this.byKey.keys().next().value;
      if (oldest === undefined) break;
      this.byKey.delete(oldest);
    }
    return entry;
  }

  list(): ContractCaller[] {
    return [...this.byKey.values()]
      .map((entry) => ({ ...entry }))
      .sort((a, b) => b.calls - a.calls || a.caller.localeCompare(b.caller));
  }
}

/** What `GET /admin/contracts/callers` answers (the shape `orderly contracts callers` reads). */
export function callersReport(config: ContractConfig, callers: ContractCallers) {
  return {
    versions: Object.entries(config.versions)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([version, v]) => ({
        version,
        lifecycle: v.lifecycle,
        ...(v.sunset ? { sunset: v.sunset } : {}),
        ...(v.successor ? { successor: v.successor } : {}),
      })),
    routes: Object.entries(config.routes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, r]) => ({
        route,
        lifecycle: r.lifecycle,
        ...(r.sunset ? { sunset: r.sunset } : {}),
        ...(r.successor ? { successor: r.successor } : {}),
      })),
    callers: callers.list(),
  };
}

/**
 * Who called: the token's subject, else the client id the client sent (`X-Client-Id`), else the
 * network it called from (IPv4 /24, IPv6 /48), never the full address.
 */
export function callerOf(request: FastifyRequest): string {
  if (request.principal) return `sub:${request.principal.sub}`;
  const clientId = request.headers['x-client-id'];
  if (typeof clientId === 'string' && /^[A-Za-z0-9_.:-]{1,128}$/.test(clientId))
    return `client:${clientId}`;
  return `net:${networkOf(request.ip)}`;
}

export function networkOf(address: string): string {
  const mapped = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (isIPv4(mapped)) {
    const [a, b, c] = mapped.split('.');
    return `${a}.${b}.${c}.0/24`;
  }
  if (isIPv6(mapped)) {
    const groups = expandIPv6(mapped).slice(0, 3);
    return `${groups.join(':')}::/48`;
  }
  return 'unknown';
}

function expandIPv6(address: string): string[] {
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  return [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right].map((g) =>
    (g || '0').toLowerCase().replace(/^0+(?=.)/, ''),
  );
}

/**
 * RFC 9745: `Deprecation: @<unix seconds>` (since when); RFC 8594: `Sunset: <HTTP-date>`; RFC 8288:
 * the successor as `Link: <...>; rel="successor-version"`. A version and a route both deprecated:
 * the earlier date of each, both links.
 */
interface Deprecation {
  readonly since: number;
  readonly sunset: string | undefined;
  readonly link: string | undefined;
}

function deprecationHeaders(reply: FastifyReply, deprecations: readonly Deprecation[]) {
  if (deprecations.length === 0) return;
  reply.header('deprecation', `@${Math.min(...deprecations.map((d) => d.since))}`);
  const sunsets = deprecations.flatMap((d) => (d.sunset ? [Date.parse(d.sunset)] : []));
  if (sunsets.length > 0) reply.header('sunset', new Date(Math.min(...sunsets)).toUTCString());
  const links = deprecations.flatMap((d) => (d.link ? [d.link] : []));
  if (links.length > 0) reply.header('link', links.join(', '));
}

const versionLink = (successor: string | undefined) =>
  successor ? `</openapi/v${successor}.json>; rel="successor-version"` : undefined;

/** `GET /v2/things` → its path; a URL as it is. */
const routeLink = (successor: string | undefined) =>
  successor ? `<${successor.replace(/^[A-Z]+ /, '')}>; rel="successor-version"` : undefined;

export interface ContractHooksDeps {
  readonly config: ContractConfig;
  readonly defaultFlag?: Pick<DefaultVersionFlag, 'current'>;
  readonly callers: ContractCallers;
  readonly log: Logger;
  /** Counts every call of a versioned route (`orderly.contract.calls`). */
  readonly countCall?: (version: string, lifecycle: Lifecycle) => void;
  /** Counts every call of a deprecated or retired route (`orderly.contract.route_calls`). */
  readonly countRouteCall?: (route: string, lifecycle: RouteLifecycle) => void;
}

/** The version a request asks for (or the default), or a 400 naming the supported ones. */
export function resolveVersion(
  header: string | string[] | undefined,
  deps: Pick<ContractHooksDeps, 'config' | 'defaultFlag'>,
): string {
  const supported = Object.keys(deps.config.versions).sort((a, b) => Number(a) - Number(b));
  if (header === undefined) {
    const flagged = deps.defaultFlag?.current ?? '';
    return flagged && supported.includes(flagged) ? flagged : deps.config.defaultVersion;
  }
  const given = Array.isArray(header) ? header.join(',') : header.trim();
  if (!versionPattern.test(given) || !supported.includes(given))
    throw contractVersionUnsupported(given, supported);
  return given;
}

/**
 * The first hook resolves the version and stamps the answer with it (so errors carry it too); the
 * second, after authentication (registered after the security hooks), applies the lifecycle of a
 * versioned route and records its caller.
 */
export function registerContractHooks(app: FastifyInstance, deps: ContractHooksDeps): void {
  app.decorateRequest('contractVersion', '');
  app.addHook('onRequest', async (request, reply) => {
    // Until resolved, an error answer names the default it would have been served in.
    request.contractVersion = deps.config.defaultVersion;
    reply.header(contractVersionHeader, deps.config.defaultVersion);
    request.contractVersion = resolveVersion(request.headers[contractVersionHeader], deps);
    reply.header(contractVersionHeader, request.contractVersion);
    return Promise.resolve();
  });
}

export function registerContractLifecycle(app: FastifyInstance, deps: ContractHooksDeps): void {
  // The app is built again when the configuration changes: a version or route deprecated without a
  // date is deprecated since the configuration that says so took effect.
  const configuredAt = Math.floor(Date.now() / 1000);
  const sinceOf = (deprecatedAt: string | undefined) =>
    deprecatedAt ? Math.floor(Date.parse(deprecatedAt) / 1000) : configuredAt;
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const url = request.routeOptions.url;
    const routeKey = url && isPublicRoute(url) ? routeKeyOf(request.method, url) : undefined;
    const routeSettings = routeKey ? deps.config.routes[routeKey] : undefined;
    const version = request.contractVersion;
    const settings = request.routeOptions.config.versioned
      ? deps.config.versions[version]
      : undefined;
    if (settings) deps.countCall?.(version, settings.lifecycle);
    const oldVersion = settings !== undefined && settings.lifecycle !== 'current';
    if (!oldVersion && !routeSettings) return;
    if (routeKey && routeSettings) deps.countRouteCall?.(routeKey, routeSettings.lifecycle);
    const route = `${request.method} ${url ?? ''}`;
    const caller = callerOf(request);
    deps.callers.record(caller, version, route, routeSettings?.lifecycle);
    deps.log.info(
      {
        caller,
        contractVersion: version,
        ...(oldVersion ? { lifecycle: settings.lifecycle } : {}),
        ...(routeSettings ? { routeLifecycle: routeSettings.lifecycle } : {}),
        route,
      },
      oldVersion ? 'call under an old contract version' : 'call of a deprecated or retired route',
    );
    if (settings?.lifecycle === 'retired') {
      const successor = settings.successor ?? '';
      const sunset = settings.sunset ?? '';
      const message =
        `contract version ${version} was retired${sunset ? ` on ${sunset}` : ''}` +
        (successor ? `; use version ${successor} (X-Contract-Version: ${successor})` : '');
      return gone(reply, 'CONTRACT_VERSION_RETIRED', message, {
        version,
        ...(successor ? { successor } : {}),
        ...(sunset ? { sunset } : {}),
      });
    }
    if (routeKey && routeSettings?.lifecycle === 'retired') {
      const { successor, sunset } = routeSettings;
      const link = routeLink(successor);
      if (link) reply.header('link', link);
      const message =
        `route ${routeKey} was retired${sunset ? ` on ${sunset}` : ''}` +
        (successor ? `; use ${successor}` : '');
      return gone(reply, 'ROUTE_RETIRED', message, {
        route: routeKey,
        ...(successor ? { successor } : {}),
        ...(sunset ? { sunset } : {}),
      });
    }
    deprecationHeaders(reply, [
      ...(settings?.lifecycle === 'deprecated'
        ? [
            {
              since: sinceOf(settings.deprecatedAt),
              sunset: settings.sunset,
              link: versionLink(settings.successor),
            },
          ]
        : []),
      ...(routeSettings?.lifecycle === 'deprecated'
        ? [
            {
              since: sinceOf(routeSettings.deprecatedAt),
              sunset: routeSettings.sunset,
              link: routeLink(routeSettings.successor),
            },
          ]
        : []),
    ]);
  });
}

/** 410 with the error envelope and what replaces the version or route. */
function gone(
  reply: FastifyReply,
  code: 'CONTRACT_VERSION_RETIRED' | 'ROUTE_RETIRED',
  message: string,
  details: Record<string, string>,
) {
  const body = envelope(code, message);
  return reply
    .code(410)
    .type('application/json')
    .send({ error: { ...body.error, ...details } });
}
