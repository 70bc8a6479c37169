import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  startTestService,
  testWorkloadIdentity,
  type TestService,
} from '@orderly/platform/testing';
import { riskService } from '../service.js';
import type { RiskEngineStatus } from './risk-engine.js';
import { PluginFolder } from './test/plugin-test-kit.js';

/**
 * The engine's status where an operator reads it: GET /admin/risk/plugins on the risk service's
 * operator port (the operator workload only), with a version refused at load beside the active one.
 */
const plugins = new PluginFolder().add('1.0.0', 'basic-rules').add('1.1.0', 'abi-v2');
let risk: TestService<unknown>;

beforeAll(async () => {
  risk = await startTestService(riskService, {
    service: { plugins: { dir: plugins.dir } },
  });
});

afterAll(async () => {
  await risk?.stop();
  plugins.cleanUp();
});

describe('GET /admin/risk/plugins', () => {
  test('when the operator asks, then the active version, its hash and breaker, and the refused version with its error are listed', async () => {
    const operator = await testWorkloadIdentity('operator');

    const answer = await fetch(`${risk.runtime.operatorUrl}/admin/risk/plugins`, {
      headers: { authorization: await operator.authorization('risk') },
    });

    expect(answer.status).toBe(200);
    const status = (await answer.json()) as RiskEngineStatus;
    expect(status).toMatchObject({
      active: { name: 'basic-rules', version: '1.0.0' },
      breaker: 'closed',
      rollout: { candidatePercent: 0, mode: 'shadow' },
    });
    expect(status.active?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(status.versions.find((v) => v.state === 'refused')).toMatchObject({
      plugin: { version: '1.1.0' },
      error: 'speaks ABI version 2; the host speaks 1',
    });
  });

  test('when nobody identifies, then it is 401', async () => {
    const answer = await fetch(`${risk.runtime.operatorUrl}/admin/risk/plugins`);

    expect(answer.status).toBe(401);
  });
});
