import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ruleIds, type RuleId, type Severity } from './finding.ts';

export const configFileName = 'orderly-guard.config.json';

export interface DependencyException {
  /** Package name the exception is about (the overridden, file:-installed or duplicated package). */
  package: string;
  /** Which kind of hijack is accepted; all kinds when omitted. */
  kind?: 'override' | 'source' | 'duplicate';
  /** For duplicates: lockfile path glob of the accepted extra copy (`node_modules/x/node_modules/pkg`); any when omitted. */
  path?: string;
  /** Why this is acceptable; required so that exceptions stay reviewable. */
  reason: string;
}

/** A finding accepted on purpose: kept out of the report, with the reason on record. */
export interface Suppression {
  rule: RuleId;
  /** File glob the finding is in. */
  file: string;
  /** Only findings whose message contains this text (all in the file when omitted). */
  contains?: string;
  reason: string;
}

export interface GuardConfig {
  /** Directory globs; each match is one service, named after its directory. */
  serviceRoots: string[];
  /** Directory globs of technical packages every service may import (the platform kernel). */
  allowedSharedPackages: string[];
  /** File globs allowed to import services' source (launchers that compose every service in one process). */
  compositionRoots: string[];
  contracts: {
    /** File globs of generated contract code: the only part of a service others may import. */
    generated: string[];
    /** Directory globs of buf modules (proto roots), used by `orderly-guard contracts`. */
    proto: string[];
    /** File globs of public OpenAPI documents that `contracts` compares with the base for breaking changes. */
    openapi: string[];
    /** File globs of flagd files whose `<producer>-events-publish` flags say which event versions a producer publishes. */
    flags: string[];
  };
  /** File globs where configuration values belong (config files, schemas with defaults). */
  configFiles: string[];
  testFiles: string[];
  /** File globs never read (in addition to node_modules and dot-directories). */
  exclude: string[];
  /** Extra directory globs to check besides service roots and allowed shared packages. */
  include: string[];
  telemetryLibraries: string[];
  /** Business nouns: types named after them in a shared package mark it as a shared domain. */
  businessTypeNames: string[];
  layering: {
    /** File globs, relative to a service root, that form the pure domain layer. */
    domain: string[];
    /** File globs, relative to the same service root, the domain must not import. */
    forbiddenDirs: string[];
    /** Module specifiers (globs) the domain must not import: drivers and frameworks. */
    forbiddenPackages: string[];
  };
  syncCalls: {
    /** File globs whose functions are request/event handlers. */
    handlers: string[];
    /** Call names that register a handler callback (router.post, bus.subscribe, ...). */
    registrars: string[];
    /** Functions that create an RPC client from a service descriptor. */
    clientFactories: string[];
    /** Callee patterns for raw HTTP calls (`fetch`, `axios.*`, ...). */
    httpCallees: string[];
    /** Call names whose callback runs inside a database transaction. */
    transactionFunctions: string[];
    maxServicesPerHandler: number;
  };
  hardcodedConfig: {
    /** URL prefixes that are identifiers, not endpoints (schema ids, spec links). */
    allowedUrlPrefixes: string[];
    /** Numbers that are never configuration: 0 = disabled/ephemeral port, 1 = single, runtime maxima (2^31-1 is the largest timer delay). */
    allowedNumbers: number[];
    /** Words in a property/variable name that mark a numeric value as a duration, limit or port. */
    numericNameWords: string[];
    /** Whole names (case-insensitive) that mark a numeric value as a limit. */
    numericNames: string[];
    /** Calls whose argument at the given index is a duration or port: `setTimeout` → 1. */
    numericCalls: Record<string, number>;
  };
  dependencies: {
    criticalPackages: string[];
    exceptions: DependencyException[];
  };
  retries: {
    /** Calls that wait between attempts (`await sleep(ms)`); `new Promise(r => setTimeout(r, ms))` is always one. */
    sleepCalls: string[];
  };
  database: {
    /** File globs of migrations (SQL, or TS/JS holding SQL): the tables they create belong to their service. */
    migrations: string[];
  };
  gateway: {
    /** Paths any service may call on another without them being in its contract (health probes). */
    allowedPaths: string[];
    /** File globs of OpenAPI documents that declare a service's HTTP contract (besides its proto RPCs). */
    openapi: string[];
  };
  domainTypes: {
    /** Type names ending with one of these are technical (wiring, options), not domain types. */
    ignoreSuffixes: string[];
  };
  /** Findings accepted with a reason (true findings that stay for now, or false positives). */
  suppressions: Suppression[];
  severity: {
    /** Findings at or above this severity make `check` exit non-zero. */
    threshold: Severity;
    rules: Partial<Record<RuleId, Severity | 'off'>>;
  };
}

export const defaultConfig: GuardConfig = {
  serviceRoots: ['services/*'],
  allowedSharedPackages: ['platform'],
  compositionRoots: [],
  contracts: {
    generated: ['services/*/gen/**'],
    proto: ['services/*/proto'],
    openapi: [],
    flags: [],
  },
  configFiles: ['config/**', '**/config.ts', '**/*-config.ts', '**/config-schema.ts'],
  testFiles: ['**/test/**', '**/tests/**', '**/__tests__/**', '**/*.test.ts', '**/*.spec.ts'],
  exclude: [],
  include: [],
  telemetryLibraries: [
    'pino',
    'pino-*',
    'winston',
    'bunyan',
    'log4js',
    'loglevel',
    'signale',
    'prom-client',
    'hot-shots',
    'statsd-client',
    'node-statsd',
    'dd-trace',
    'newrelic',
    '@opentelemetry/*',
    '@sentry/*',
  ],
  businessTypeNames: [
    'Order',
    'Customer',
    'Product',
    'Payment',
    'Invoice',
    'Cart',
    'Shipment',
    'Reservation',
    'Stock',
    'Inventory',
    'Refund',
    'Notification',
    'User',
    'Account',
    'Sku',
  ],
  layering: {
    domain: ['src/domain/**'],
    forbiddenDirs: ['src/entry-points/**', 'src/data-access/**', 'src/main.ts', 'src/app.ts'],
    forbiddenPackages: [
      'pg',
      'pg-*',
      'postgres',
      'mysql2',
      'knex',
      'typeorm',
      '@prisma/*',
      'ioredis',
      'redis',
      'kafkajs',
      'amqplib',
      'nats',
      '@nats-io/*',
      '@connectrpc/*',
      'fastify',
      '@fastify/*',
      'express',
      'koa',
      'axios',
      'undici',
      'node:http',
      'node:https',
      'node:net',
      'http',
      'https',
      'net',
    ],
  },
  syncCalls: {
    handlers: ['services/*/src/entry-points/**', 'services/*/src/app.ts'],
    registrars: [
      'subscribe',
      'consume',
      'on',
      'handle',
      'route',
      'rpc',
      'unary',
      'service',
      'get',
      'post',
      'put',
      'patch',
      'delete',
      'all',
    ],
    clientFactories: ['createClient', 'createPromiseClient', 'createCallbackClient'],
    httpCallees: [
      'fetch',
      'axios',
      'axios.*',
      'got',
      'got.*',
      'ky.*',
      'http.request',
      'http.get',
      'https.request',
      'https.get',
      'request',
      'undici.request',
      'undici.fetch',
    ],
    transactionFunctions: [
      'transaction',
      'withTransaction',
      'inTransaction',
      '$transaction',
      'begin',
    ],
    maxServicesPerHandler: 1,
  },
  hardcodedConfig: {
    allowedUrlPrefixes: [
      'http://json-schema.org/',
      'https://json-schema.org/',
      'https://json.schemastore.org/',
      'http://www.w3.org/',
      'https://www.w3.org/',
      'https://opentelemetry.io/',
      'https://docs.oasis-open.org/',
      'https://github.com/',
    ],
    allowedNumbers: [-1, 0, 1, 2_147_483_647, 4_294_967_295, Number.MAX_SAFE_INTEGER],
    numericNameWords: [
      'timeout',
      'interval',
      'ttl',
      'retries',
      'retry',
      'attempts',
      'delay',
      'backoff',
      'deadline',
      'pool',
      'port',
      'concurrency',
      'connections',
      'ms',
      'millis',
      'seconds',
      'secs',
    ],
    numericNames: ['max', 'min', 'maxsize', 'highwatermark'],
    numericCalls: {
      setTimeout: 1,
      setInterval: 1,
      'AbortSignal.timeout': 0,
      sleep: 0,
      delay: 0,
      listen: 0,
    },
  },
  dependencies: { criticalPackages: [], exceptions: [] },
  retries: { sleepCalls: ['sleep', 'delay', 'wait', 'pause', 'setTimeout', 'backoff'] },
  database: { migrations: ['**/migrations/**'] },
  gateway: {
    allowedPaths: ['/healthz', '/readyz', '/livez', '/health', '/ready', '/live', '/metrics'],
    openapi: ['**/openapi*.{yaml,yml,json}'],
  },
  domainTypes: {
    ignoreSuffixes: [
      'Deps',
      'Dependencies',
      'Config',
      'Options',
      'Settings',
      'Props',
      'Context',
      'Client',
      'Port',
      'Repository',
      'Store',
      'Service',
      'Handler',
      'Request',
      'Response',
      'Row',
      'Input',
      'Output',
      'Params',
      'Error',
      'Schema',
      'Metrics',
    ],
  },
  suppressions: [],
  severity: { threshold: 'error', rules: {} },
};

export class ConfigError extends Error {}

const severities = new Set(['error', 'warning', 'note']);

/**
 * Reads `<root>/orderly-guard.config.json` and lays it over the defaults, one section at a time,
 * so a repo only writes what differs. Unknown keys are rejected: a typo must not silently
 * disable a guardrail.
 */
export function loadConfig(root: string, explicitPath?: string): GuardConfig {
  const path = explicitPath ?? join(root, configFileName);
  if (!existsSync(path)) {
    if (explicitPath) throw new ConfigError(`config file not found: ${explicitPath}`);
    return structuredClone(defaultConfig);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  return mergeConfig(raw, path);
}

export function mergeConfig(raw: unknown, source = 'config'): GuardConfig {
  if (!isRecord(raw)) throw new ConfigError(`${source}: expected a JSON object`);
  const config = structuredClone(defaultConfig);
  const target = config as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw)) {
    if (key === '$schema' || key === '//') continue;
    if (!(key in target)) throw new ConfigError(`${source}: unknown key "${key}"`);
    const current = target[key];
    if (isRecord(current) && !Array.isArray(current)) {
      if (!isRecord(value)) throw new ConfigError(`${source}: "${key}" must be an object`);
      for (const subKey of Object.keys(value)) {
        if (!(subKey in current))
          throw new ConfigError(`${source}: unknown key "${key}.${subKey}"`);
      }
      target[key] = { ...current, ...value };
    } else {
      target[key] = value;
    }
  }
  validate(config, source);
  return config;
}

function validate(config: GuardConfig, source: string): void {
  const stringLists: [string, unknown][] = [
    ['serviceRoots', config.serviceRoots],
    ['allowedSharedPackages', config.allowedSharedPackages],
    ['compositionRoots', config.compositionRoots],
    ['contracts.generated', config.contracts.generated],
    ['contracts.proto', config.contracts.proto],
    ['contracts.openapi', config.contracts.openapi],
    ['contracts.flags', config.contracts.flags],
    ['configFiles', config.configFiles],
    ['testFiles', config.testFiles],
    ['exclude', config.exclude],
    ['include', config.include],
    ['telemetryLibraries', config.telemetryLibraries],
    ['businessTypeNames', config.businessTypeNames],
    ['dependencies.criticalPackages', config.dependencies.criticalPackages],
    ['retries.sleepCalls', config.retries.sleepCalls],
    ['database.migrations', config.database.migrations],
    ['gateway.allowedPaths', config.gateway.allowedPaths],
    ['gateway.openapi', config.gateway.openapi],
    ['domainTypes.ignoreSuffixes', config.domainTypes.ignoreSuffixes],
  ];
  for (const [key, value] of stringLists) {
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
      throw new ConfigError(`${source}: "${key}" must be an array of strings`);
    }
  }
  if (!severities.has(config.severity.threshold)) {
    throw new ConfigError(`${source}: "severity.threshold" must be error, warning or note`);
  }
  for (const [rule, level] of Object.entries(config.severity.rules)) {
    if (!(ruleIds as readonly string[]).includes(rule)) {
      throw new ConfigError(`${source}: "severity.rules" names unknown rule "${rule}"`);
    }
    if (level !== 'off' && !severities.has(level)) {
      throw new ConfigError(
        `${source}: "severity.rules.${rule}" must be off, error, warning or note`,
      );
    }
  }
  if (!Array.isArray(config.suppressions))
    throw new ConfigError(`${source}: "suppressions" must be an array`);
  config.suppressions.forEach((suppression, index) => {
    const where = `${source}: suppressions[${index}]`;
    if (
      !isRecord(suppression) ||
      !(ruleIds as readonly string[]).includes(String(suppression.rule))
    )
      throw new ConfigError(`${where} needs a known "rule"`);
    if (typeof suppression.file !== 'string') throw new ConfigError(`${where} needs a "file" glob`);
    if (typeof suppression.reason !== 'string' || suppression.reason.trim() === '')
      throw new ConfigError(
        `${where} (${suppression.rule} in ${suppression.file}) needs a non-empty "reason"`,
      );
  });
  config.dependencies.exceptions.forEach((exception, index) => {
    if (!isRecord(exception) || typeof exception.package !== 'string') {
      throw new ConfigError(`${source}: dependencies.exceptions[${index}] needs a "package"`);
    }
    if (exception.path !== undefined && typeof exception.path !== 'string') {
      throw new ConfigError(
        `${source}: dependencies.exceptions[${index}].path must be a string (a lockfile path glob)`,
      );
    }
    if (typeof exception.reason !== 'string' || exception.reason.trim() === '') {
      throw new ConfigError(
        `${source}: dependencies.exceptions[${index}] (${exception.package}) needs a non-empty "reason"`,
      );
    }
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
