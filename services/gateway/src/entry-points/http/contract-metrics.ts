import type { Telemetry } from '@orderly/platform';
import type { ContractConfig, Lifecycle } from './contract-versions.js';

/**
 * The contract versions' metrics: `orderly.contract.calls` (every call of a versioned route, by
 * `contract_version` and `lifecycle`) and `orderly.contract.sunset` (unit s: each version's sunset
 * as unix seconds, for the versions that have one), read by the alert on callers left before a
 * sunset (Prometheus: orderly_contract_calls_total, orderly_contract_sunset).
 */
export function contractTelemetry(
  meter: Telemetry['meter'],
  config: () => ContractConfig,
): (version: string, lifecycle: Lifecycle) => void {
  const calls = meter.createCounter('orderly.contract.calls', {
    unit: '{call}',
    description: 'Calls of the versioned public API routes, by contract version and its lifecycle.',
  });
  const sunset = meter.createObservableGauge('orderly.contract.sunset', {
    unit: 's',
    description: 'When each contract version with a sunset is retired (unix seconds).',
  });
  sunset.addCallback((result) => {
    for (const [version, settings] of Object.entries(config().versions)) {
      if (!settings.sunset) continue;
      result.observe(Math.floor(Date.parse(settings.sunset) / 1000), {
        contract_version: version,
      });
    }
  });
  return (version, lifecycle) => calls.add(1, { contract_version: version, lifecycle });
}
