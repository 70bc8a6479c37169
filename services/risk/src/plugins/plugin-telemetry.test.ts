import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { configValue, defineService, serviceEndpointsShape } from '@orderly/platform';
import { parsePrometheus, startTestService, type TestService } from '@orderly/platform/testing';
import { createRiskEngine, type RiskEngine } from './risk-engine.js';
import { PluginFolder, someFeatures, triggerAmount } from './test/plugin-test-kit.js';

/**
 * The engine's metrics as Prometheus reads them: a service with no database (this file's own, named
 * risk for its configuration section) whose wiring creates the engine with the runtime's telemetry,
 * scraped on its operator port.
 */
let engine: RiskEngine | undefined;
let started: TestService<unknown> | undefined;
const folders: PluginFolder[] = [];

afterEach(async () => {
  await started?.stop();
  started = undefined;
  engine = undefined;
  for (const folder of folders.splice(0)) folder.cleanUp();
});

async function startWithEngine(pluginsDir: string): Promise<RiskEngine> {
  const probe = defineService({
    name: 'risk',
    configSchema: z.looseObject({
      host: z.string().min(1),
      port: configValue.port(),
      ...serviceEndpointsShape,
    }),
    async wire(runtime) {
      const made = await createRiskEngine({
        pluginsDir,
        settings: { denyList: [], thresholds: {} },
        rollout: () => ({ candidatePercent: 100, mode: 'shadow' }),
        limits: { callTimeoutMs: 1_000 },
        pollIntervalMs: 0,
        log: runtime.log,
        telemetry: runtime.telemetry,
      });
      runtime.closeOnStop(() => made.close());
      engine = made;
    },
  });
  started = await startTestService(probe);
  if (!engine) throw new Error('the engine was not wired');
  return engine;
}

async function scrape(): Promise<ReturnType<typeof parsePrometheus>> {
  const response = await fetch(`${started?.runtime.operatorUrl}/metrics`);
  return parsePrometheus(await response.text());
}

describe('plugin telemetry', () => {
  test('when orders are scored and one traps, then outcomes, failures by kind, scores, durations and the refusal are counted per plugin version', async () => {
    const plugins = new PluginFolder().add('1.0.0', 'trapping').add('1.1.0', 'constant');
    folders.push(plugins);
    plugins.add('1.2.0', 'abi-v2');
    const risk = await startWithEngine(plugins.dir);

    await risk.assess([someFeatures(), someFeatures({ amountMinor: triggerAmount })]);
    const samples = await scrape();

    const value = (name: string, labels: Record<string, string>) =>
      samples
        .filter(
          (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
        )
        .reduce((sum, s) => sum + s.value, 0);
    const active = { risk_plugin_name: 'basic-rules', risk_plugin_version: '1.0.0' };
    const candidate = { risk_plugin_name: 'basic-rules', risk_plugin_version: '1.1.0' };
    expect(
      value('risk_plugin_outcomes_total', {
        ...active,
        risk_plugin_role: 'enforced',
        risk_plugin_outcome: 'scored',
      }),
    ).toBe(1);
    expect(
      value('risk_plugin_outcomes_total', {
        ...active,
        risk_plugin_role: 'enforced',
        risk_plugin_outcome: 'trap',
      }),
    ).toBe(1);
    expect(
      value('risk_plugin_outcomes_total', {
        ...candidate,
        risk_plugin_role: 'shadow',
        risk_plugin_outcome: 'scored',
      }),
    ).toBe(2);
    expect(value('risk_plugin_duration_count', active)).toBe(2);
    expect(value('risk_plugin_score_count', candidate)).toBe(2);
    expect(value('risk_plugin_score_sum', candidate)).toBe(1000);
    expect(value('risk_plugin_refused_total', { risk_plugin_version: '1.2.0' })).toBe(1);
  });
});
