import { describe, expect, test } from 'vitest';
import { checkFixture, checkoutFixture } from './guard-runner.ts';

// fixtures/checkout is the shape the first guard missed: a checkout service (one repository, one
// service, its own layout) whose HTTP handler awaits three outbound calls, each wrapped in a client
// function exported from ./clients.js, one of them reached through a local helper.
describe('no-sync-call-chain across modules', () => {
  test('when a handler awaits three clients imported from another file, then the whole chain is reported with every hop', () => {
    const finding = checkFixture(checkoutFixture).findings.find(
      (candidate) => candidate.rule === 'no-sync-call-chain' && candidate.file === 'src/server.ts',
    );
    expect(finding).toMatchObject({ line: 8, column: 23 });
    expect(finding?.message).toBe(
      "handler app.post('/checkout') makes 3 synchronous outbound calls to different services/endpoints: " +
        'inventory: reserveStock() src/server.ts:10 → fetch(`${inventoryUrl}/reservations`) src/clients.ts:9; ' +
        "payments: payFor() src/server.ts:11 → chargeCard() src/server.ts:21 → payments.post('/charges') src/clients.ts:17; " +
        'mailer: sendReceipt() src/server.ts:12 → request() src/clients.ts:23',
    );
    expect(finding?.related?.map((hop) => `${hop.file}:${hop.line}  ${hop.message}`)).toEqual([
      'src/server.ts:10  calls reserveStock() on the way to inventory',
      'src/clients.ts:9  HTTP call to inventory (fetch)',
      'src/server.ts:11  calls payFor() on the way to payments',
      'src/server.ts:21  calls chargeCard() on the way to payments',
      'src/clients.ts:17  HTTP call to payments (axios)',
      'src/server.ts:12  calls sendReceipt() on the way to mailer',
      'src/clients.ts:23  HTTP call to mailer (node:https)',
    ]);
  });

  test('when the same client is called between BEGIN and COMMIT, then that call is reported too, and nothing else', () => {
    const findings = checkFixture(checkoutFixture).findings.map(
      (finding) => `${finding.rule} ${finding.file}:${finding.line}:${finding.column}`,
    );
    expect(findings).toEqual([
      'no-sync-call-chain src/orders.ts:10:11',
      'no-sync-call-chain src/server.ts:8:23',
    ]);
  });
});
