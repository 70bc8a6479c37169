import type { Telemetry } from '@orderly/platform';
import type { ContractConfig, Lifecycle, RouteLifecycle } from './contract-versions.js';

/**
 * The contract versions' metrics: `orderly.contract.calls` (every call of a versioned route, by
 * `contract_version` and `lifecycle`) and `orderly.contract.sunset` (unit s: each version's sunset
 * as unix seconds, for the versions that have one), read by the alert on callers left before a
 * sunset (Prometheus: orderly_contract_calls_total, orderly_contract_sunset). Routes with a
 * lifecycle of their own (`contract.routes`): `orderly.contract.route_calls` (by `route` and
 * `lifecycle`) and `orderly.contract.route_sunset` (by `route`).
 */
export function contractTelemetry(
  meter: Telemetry['meter'],
  config: () => ContractConfig,
): {
  countCall: (version: string, lifecycle: Lifecycle) => void;
  countRouteCall: (route: string, lifecycle: RouteLifecycle) => void;
} {
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
  const routeCalls = meter.createCounter('orderly.contract.route_calls', {
    unit: '{call}',
    description:
      'Calls of public routes deprecated or retired on their own, by route and lifecycle.',
  });
  const routeSunset = meter.createObservableGauge('orderly.contract.route_sunset', {
    unit: 's',
    description: 'When each deprecated or retired route with a sunset is retired (unix seconds).',
  });
  routeSunset.addCallback((result) => {
    for (const [route, settings] of Object.entries(config().routes)) {
      if (!settings.sunset) continue;
      result.observe(Math.floor(Date.parse(settings.sunset) / 1000), { route });
    }
  });
  return {
    countCall: (version, lifecycle) => calls.add(1, { contract_version: version, lifecycle }),
    countRouteCall: (route, lifecycle) => routeCalls.add(1, { route, lifecycle }),
  };
}
