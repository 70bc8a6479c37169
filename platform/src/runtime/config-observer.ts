import type { ConfigEvent, LiveConfig } from '../config/index.js';
import type { Flags } from '../flags/index.js';
import type { Logger } from '../log/index.js';
import type { Telemetry } from '../telemetry/index.js';

/** What the observer reads from its service (the ServiceRuntime). */
export interface ConfiguredService {
  readonly live: LiveConfig<unknown>;
  readonly flags: Flags;
  /** The service's logger: the audit trail goes here, and its level follows `logLevel`. */
  readonly log: Logger;
  readonly telemetry: Telemetry;
}

/**
 * Watches a service's configuration and flags: logs every change (the audit trail), applies the
 * ones the runtime itself owns (`logLevel`) and publishes the config metrics. Returns the function
 * that stops watching.
 */
export function observeConfig(service: ConfiguredService): () => void {
  const stopListening = [
    service.live.onEvent((event) => onConfigEvent(service, event)),
    ...registerConfigMetrics(service),
  ];
  return () => {
    for (const stop of stopListening) stop();
  };
}

/**
 * Which configuration and flags version this process runs, as metrics an operator can compare
 * across replicas: `orderly.config.info` (1, with the hashes as attributes), whether the last
 * reload failed, how many changed keys wait for a restart, and a count of reloads by outcome.
 */
function registerConfigMetrics({ live, flags, telemetry }: ConfiguredService): (() => void)[] {
  const { meter } = telemetry;
  meter
    .createObservableGauge('orderly.config.info', {
      description: 'Always 1; the attributes name the configuration and flags versions in effect.',
    })
    .addCallback((result) => {
      result.observe(1, {
        'orderly.config.hash': live.hash,
        'orderly.flags.hash': flags.status().hash,
      });
    });
  meter
    .createObservableGauge('orderly.config.reload.failed', {
      description:
        '1 while the last reload of the source was rejected (the previous version stays in effect).',
    })
    .addCallback((result) => {
      result.observe(live.status().reloadError ? 1 : 0, {
        'orderly.config.source': 'config',
      });
      result.observe(flags.status().error ? 1 : 0, { 'orderly.config.source': 'flags' });
    });
  meter
    .createObservableGauge('orderly.config.restart_required', {
      description: 'Changed configuration keys that are not reloadable and wait for a restart.',
      unit: '{key}',
    })
    .addCallback((result) => result.observe(live.status().restartRequired.length));
  const reloads = meter.createCounter('orderly.config.reloads', {
    description: 'Configuration reloads by outcome (applied, rejected, restart-required).',
    unit: '{reload}',
  });
  return [
    live.onEvent((event) => reloads.add(1, { 'orderly.config.outcome': event.kind })),
    flags.onChange(() => reloads.add(1, { 'orderly.config.outcome': 'flags-applied' })),
  ];
}

/** The audit trail of configuration changes, and the changes the runtime itself applies. */
function onConfigEvent({ live, log }: ConfiguredService, event: ConfigEvent): void {
  if (event.kind === 'rejected') {
    log.error(
      { filesHash: event.filesHash, err: event.error },
      'configuration reload rejected, previous configuration kept',
    );
    return;
  }
  if (event.kind === 'restart-required') {
    log.warn(
      { configHash: event.hash, filesHash: event.filesHash, keys: event.keys },
      'configuration change needs a restart, not applied',
    );
    return;
  }
  if (event.changed.includes('logLevel')) log.level = live.platform.logLevel;
  log.info(
    {
      configHash: event.hash,
      filesHash: event.filesHash,
      changed: event.changed,
      restartRequired: event.restartRequired,
    },
    'configuration change applied',
  );
  if (event.restartRequired.length > 0) {
    log.warn({ keys: event.restartRequired }, 'configuration change needs a restart, not applied');
  }
}
