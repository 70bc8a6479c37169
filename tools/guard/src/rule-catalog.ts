import type { RuleId } from './finding.ts';

export interface RuleDescription {
  summary: string;
  help: string;
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
};
