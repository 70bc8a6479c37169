import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { RiskAssessmentRequestedSchema } from '@orderly/order-contract/order_events';
import { MemoryBus, newEvent } from '@orderly/platform';
import {
  eventually,
  recordEvents,
  startTestService,
  type TestService,
} from '@orderly/platform/testing';
import { Decision, RiskAssessedSchema } from '@orderly/risk-contract/risk_events';
import { riskService, type RiskConfig } from '@orderly/risk';
import { adminToken, customerToken } from '../../services/gateway/test/fake-identity.js';
import {
  bearer,
  send,
  startTestGateway,
  type TestGateway,
} from '../../services/gateway/test/test-gateway.js';

/**
 * Here rather than in services/gateway/test: it starts two services (no service imports another).
 * /v1/admin/risk/reviews against the real risk service (its shipped rule plugin holds orders of a
 * high amount for review), called by the gateway with its workload identity.
 */
let bus: MemoryBus;
let risk: TestService<RiskConfig>;
let recorder: Awaited<ReturnType<typeof recordEvents>>;
let gateway: TestGateway;
let admin: Record<string, string>;

beforeAll(async () => {
  bus = new MemoryBus();
  recorder = await recordEvents(bus, [RiskAssessedSchema]);
  risk = await startTestService(riskService, { bus });
  gateway = await startTestGateway({ service: { riskServiceUrl: risk.url } });
  admin = bearer(await adminToken('admin-7'));
});
afterAll(async () => {
  await gateway?.stop();
  await recorder?.stop();
  await risk?.stop();
  await bus?.close();
});

/** An order risk holds for review (the shipped rules: AMOUNT_HIGH from 2,000.00). */
async function heldOrder(): Promise<string> {
  const orderId = randomUUID();
  await bus.publish([
    newEvent(RiskAssessmentRequestedSchema, {
      orderId,
      customerId: `customer-${randomUUID()}`,
      amountCents: 300_000n,
      currency: 'EUR',
      lines: [{ sku: 'SKU-A', quantity: 1, unitPriceCents: 300_000n }],
      placedAt: timestampFromDate(new Date()),
    }).bus,
  ]);
  await eventually(() =>
    expect(recorder.of(RiskAssessedSchema).find((e) => e.orderId === orderId)?.decision).toBe(
      Decision.REVIEW,
    ),
  );
  return orderId;
}

const decide = (orderId: string, action: string, headers = admin, body?: string) =>
  send(gateway.url, {
    method: 'POST',
    path: `/v1/admin/risk/reviews/${orderId}/${action}`,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });

describe('risk review routes', () => {
  test('when an admin lists reviews, then held orders are there with their score, reasons and plugin', async () => {
    const orderId = await heldOrder();
    const response = await send(gateway.url, {
      method: 'GET',
      path: '/v1/admin/risk/reviews',
      headers: admin,
    });
    expect(response.status).toBe(200);
    const { reviews } = response.json() as { reviews: Record<string, unknown>[] };
    const review = reviews.find((r) => r.orderId === orderId);
    expect(review).toMatchObject({
      status: 'OPEN',
      amountCents: 300_000,
      currency: 'EUR',
      reasons: expect.arrayContaining(['AMOUNT_HIGH']) as unknown,
      failPolicy: false,
      plugin: { name: 'basic-rules' },
    });
    expect(review?.score).toBeGreaterThanOrEqual(400);
  });

  test('when an admin approves, then the review is APPROVED by them; approving again is 200 replayed, rejecting is 409', async () => {
    const orderId = await heldOrder();
    const approved = await decide(orderId, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.json()).toMatchObject({
      replayed: false,
      review: { orderId, status: 'APPROVED', decidedBy: 'ADMIN', decidedByUser: 'admin-7' },
    });
    await eventually(() =>
      expect(
        recorder
          .of(RiskAssessedSchema)
          .filter((e) => e.orderId === orderId)
          .map((e) => e.decision),
      ).toEqual([Decision.REVIEW, Decision.APPROVE]),
    );

    const again = await decide(orderId, 'approve', admin, '{}');
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ replayed: true, review: { status: 'APPROVED' } });

    const rejected = await decide(orderId, 'reject');
    expect(rejected.status).toBe(409);
    expect(rejected.json()).toMatchObject({ error: { code: 'RISK_REVIEW_ALREADY_DECIDED' } });
  });

  test('when an admin rejects, then the review is REJECTED', async () => {
    const orderId = await heldOrder();
    const rejected = await decide(orderId, 'reject');
    expect(rejected.status).toBe(200);
    expect(rejected.json()).toMatchObject({ review: { status: 'REJECTED', decidedBy: 'ADMIN' } });
  });

  test('when the order was never held, then it is 404 RISK_REVIEW_NOT_FOUND', async () => {
    const response = await decide(randomUUID(), 'approve');
    expect(response.status).toBe(404);
    expect(response.json()).toMatchObject({ error: { code: 'RISK_REVIEW_NOT_FOUND' } });
  });

  test('when the id is not a uuid or a body is sent, then it is 400 and nothing is decided', async () => {
    const orderId = await heldOrder();
    const badId = await decide('not-an-order', 'approve');
    expect(badId.status).toBe(400);
    expect(badId.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    const withBody = await decide(orderId, 'approve', admin, '{"note":"ok"}');
    expect(withBody.status).toBe(400);
    expect(withBody.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    const list = await send(gateway.url, {
      method: 'GET',
      path: '/v1/admin/risk/reviews',
      headers: admin,
    });
    const { reviews } = list.json() as { reviews: { orderId: string; status: string }[] };
    expect(reviews.find((r) => r.orderId === orderId)?.status).toBe('OPEN');
  });

  test('when a customer calls the routes, then it is 403 AUTH_FORBIDDEN', async () => {
    const orderId = await heldOrder();
    const customer = bearer(await customerToken('customer-9'));
    const listed = await send(gateway.url, {
      method: 'GET',
      path: '/v1/admin/risk/reviews',
      headers: customer,
    });
    const decided = await decide(orderId, 'approve', customer);
    expect([listed.status, decided.status]).toEqual([403, 403]);
    expect(decided.json()).toMatchObject({ error: { code: 'AUTH_FORBIDDEN' } });
  });
});
