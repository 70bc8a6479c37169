import { afterAll, beforeAll, expect, test } from 'vitest';
import { callEveryMethod, testCaller } from '@orderly/platform/testing';
import { IdentityService } from '@orderly/identity-contract/identity_service';
import { startTestIdentity, type TestIdentity } from './test-app.js';

/** Issue 13 item 3: every IdentityService RPC (RotateSigningKey included) needs an allowlisted workload identity. */
let identity: TestIdentity;

beforeAll(async () => {
  identity = await startTestIdentity();
});

afterAll(async () => {
  await identity?.stop();
});

const everyMethod = IdentityService.methods.map((m) => m.name);

test('when any identity RPC is called without a service token, then it is UNAUTHENTICATED with CALLER_UNAUTHENTICATED', async () => {
  const outcomes = await callEveryMethod(IdentityService, identity.url);
  for (const method of everyMethod)
    expect(outcomes[method], method).toEqual({
      code: 'unauthenticated',
      errorCode: 'CALLER_UNAUTHENTICATED',
    });
});

test('when any identity RPC is called by a service on no allowlist (inventory), then it is PERMISSION_DENIED with CALLER_NOT_ALLOWED', async () => {
  const outcomes = await callEveryMethod(
    IdentityService,
    identity.url,
    await testCaller('inventory', 'identity'),
  );
  for (const method of everyMethod)
    expect(outcomes[method], method).toEqual({
      code: 'permission_denied',
      errorCode: 'CALLER_NOT_ALLOWED',
    });
});

test('when the operator calls, then only RotateSigningKey and GetJwks get past the caller check', async () => {
  const outcomes = await callEveryMethod(
    IdentityService,
    identity.url,
    await testCaller('operator', 'identity'),
  );
  expect(everyMethod.filter((m) => !outcomes[m]?.errorCode?.startsWith('CALLER_'))).toEqual([
    'RotateSigningKey',
    'GetJwks',
  ]);
});
