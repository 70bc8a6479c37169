import type { RuleId } from './finding.ts';

export interface RuleDescription {
  summary: string;
  help: string;
  /** Severity when the config says nothing about the rule. */
  defaultSeverity?: 'error' | 'warning' | 'note';
}

/** One line per rule for --help, SARIF `rules[]` and the README; the why lives in DESIGN.md. */
export const ruleCatalog: Record<RuleId, RuleDescription> = {
  'no-shared-domain': {
    summary:
      "A service imports another service's source or a shared package that holds business types.",
    help: "Import only another service's generated contract (e.g. @orderly/<svc>/contract/*); move shared business types into that service's proto and let others consume the generated code or events.",
  },
  'no-sync-call-chain': {
    summary:
      'A handler calls two or more other services synchronously, or calls a service while holding a database transaction.',
    help: 'Call at most one service synchronously per request; let the others react to an event published through the outbox. Never call out while a transaction is open: commit first, then call, or record the intent in the outbox.',
  },
  'no-hardcoded-config': {
    summary:
      'A URL, host, port, connection string, credential, duration or limit is written in code.',
    help: 'Add a key to the service config schema (with a default there), read it from config/*.yaml or ORDERLY_* env, and pass the value in.',
  },
  'no-scattered-telemetry': {
    summary: 'Service code uses console or a logging/metrics/tracing library directly.',
    help: 'Use the telemetry/log object the platform hands the service, so every signal carries trace context and goes through one pipeline.',
  },
  'no-dependency-hijack': {
    summary:
      'A package.json overrides resolution, installs from file:/link:/git/tarball, or the lockfile holds two versions of a critical package.',
    help: 'Remove the override or non-registry source and align the versions; if it is truly needed, add an exception with a reason to orderly-guard.config.json.',
  },
  layering: {
    summary:
      'Domain code imports an outer layer (entry-points, data-access) or a driver/framework.',
    help: 'Keep domain/ pure: define a port (interface) in domain/ and implement it in data-access/ or entry-points/, wiring it in app.ts.',
  },
  'no-retry-storm': {
    summary:
      'A retry loop without backoff or jitter, without a bound, ignoring Retry-After/RateLimit-Reset, or retrying a non-idempotent call without an idempotency key.',
    help: 'Retry a bounded number of times with exponential backoff and full jitter, wait at least Retry-After when the server sends it, and send an Idempotency-Key with every retried POST/PATCH (or use the platform resilience helper, which does all of this).',
  },
  'no-shared-database': {
    summary:
      "Two services connect to the same database, or a service's SQL names a table that another service's migrations create.",
    help: "Give each service its own database and reach another service's data through its contract (RPC or events), never through its tables.",
  },
  'no-gateway-bypass': {
    summary:
      "A service calls another service's route or port that is not part of that service's declared contract.",
    help: "Call the other service only through its declared contract (its proto RPCs or documented API), or go through the gateway; add the route to the callee's contract if it is meant to be public.",
  },
  'no-domain-type-drift': {
    summary:
      'The same domain type is defined in several services with different fields (a copy that drifted).',
    help: 'Let one service own the type and publish it in its contract; the others use the generated type or keep a deliberately different, differently named view of it.',
    defaultSeverity: 'warning',
  },
  'no-leak-prone-code': {
    summary:
      'An interval or timer whose handle is dropped, a listener added on every request, or a cache filled per request with no bound.',
    help: 'Keep timer handles and clear them on shutdown; add request-scoped listeners only to request-scoped emitters (or remove them); bound caches (LRU, TTL, max size) or key them by something finite.',
  },
};
