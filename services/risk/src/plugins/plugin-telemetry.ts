import type { Telemetry } from '@orderly/platform';
import type { PluginOutcome, PluginRef } from './risk-engine.js';

export interface PluginTelemetry {
  outcomes(
    plugin: PluginRef,
    role: 'enforced' | 'shadow',
    outcomes: readonly PluginOutcome[],
  ): void;
  refused(plugin: PluginRef): void;
  breaker(plugin: PluginRef, state: 'closed' | 'open' | 'half-open'): void;
}

/**
 * Per plugin version (`risk.plugin.name`, `risk.plugin.version`): `risk.plugin.duration` (seconds
 * per order, scored or failed), `risk.plugin.outcomes` by role and outcome (scored or the failure
 * kind), `risk.plugin.score` (the scores given), `risk.plugin.refused` (versions refused at load)
 * and `risk.plugin.breaker.transitions` by the state entered.
 */
export function pluginTelemetry(
  telemetry: Pick<Telemetry, 'meter' | 'durationHistogram'>,
): PluginTelemetry {
  const duration = telemetry.durationHistogram(
    'risk.plugin.duration',
    'Time a rule plugin took per order, scored or failed.',
  );
  const outcomes = telemetry.meter.createCounter('risk.plugin.outcomes', {
    unit: '{order}',
    description: 'Orders a rule plugin scored or failed, by role (enforced, shadow) and outcome.',
  });
  const scores = telemetry.meter.createHistogram('risk.plugin.score', {
    unit: '1',
    description: 'Scores (0..1000) rule plugins gave.',
    advice: { explicitBucketBoundaries: [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000] },
  });
  const refused = telemetry.meter.createCounter('risk.plugin.refused', {
    unit: '{version}',
    description: 'Plugin versions refused at load (ABI, size, memory, imports, golden cases).',
  });
  const transitions = telemetry.meter.createCounter('risk.plugin.breaker.transitions', {
    unit: '{transition}',
    description: "A plugin version's breaker entering a state.",
  });
  const attributes = (plugin: PluginRef) => ({
    'risk.plugin.name': plugin.name,
    'risk.plugin.version': plugin.version,
  });
  return {
    outcomes(plugin, role, list) {
      for (const outcome of list) {
        const base = attributes(plugin);
        duration.record(outcome.durationMs / 1000, base);
        if (outcome.kind === 'scored') {
          scores.record(outcome.score, base);
          outcomes.add(1, { ...base, 'risk.plugin.role': role, 'risk.plugin.outcome': 'scored' });
        } else {
          outcomes.add(1, {
            ...base,
            'risk.plugin.role': role,
            'risk.plugin.outcome': outcome.failure,
          });
        }
      }
    },
    refused(plugin) {
      refused.add(1, attributes(plugin));
    },
    breaker(plugin, state) {
      transitions.add(1, { ...attributes(plugin), 'risk.plugin.breaker.state': state });
    },
  };
}
