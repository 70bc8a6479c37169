import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { RiskAssessmentRequestedSchema } from '@orderly/order-contract/order_events';
import {
  ConfigError,
  MemoryBus,
  createRpcClient,
  loadConfigDocument,
  errorCodeHeader,
  newEvent,
  type EventInit,
} from '@orderly/platform';
import {
  eventually,
  recordEvents,
  startTestService,
  testCaller,
  testWorkloadIdentity,
  type TestService,
} from '@orderly/platform/testing';
import { DecidedBy, Decision, RiskAssessedSchema } from '@orderly/risk-contract/risk_events';
import { ReviewStatus, RiskService } from '@orderly/risk-contract/risk_service';
import { checkReviewTimeout, riskService, type RiskConfig } from '../src/service.js';

/**
 * The risk service through its public interfaces: RiskAssessmentRequested in, RiskAssessed out (the
 * bus), the review queue (RiskService over Connect), with the shipped rule plugin
 * (services/risk/plugins/basic-rules) in the real engine, or with no plugin at all.
 */
const deniedCustomer = 'customer-denied';
const dir = mkdtempSync(join(tmpdir(), 'orderly-risk-'));

function flagsFile(failPolicy: 'approve' | 'review' | 'reject'): string {
  const file = join(dir, `flags-${failPolicy}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      $schema: 'https://flagd.dev/schema/v0/flags.json',
      flags: {
        'risk-fail-policy': {
          state: 'ENABLED',
          variants: { approve: 'approve', review: 'review', reject: 'reject' },
          defaultVariant: failPolicy,
        },
      },
    }),
  );
  return file;
}

interface RunningRisk {
  readonly service: TestService<RiskConfig>;
  readonly bus: MemoryBus;
  readonly recorder: Awaited<ReturnType<typeof recordEvents>>;
  readonly client: Client<typeof RiskService>;
}

async function startRisk(
  options: {
    failPolicy?: 'approve' | 'review' | 'reject';
    service?: Record<string, unknown>;
  } = {},
): Promise<RunningRisk> {
  // A zero duplicate window lets a test publish the same event twice, as a redelivery would.
  const bus = new MemoryBus({ duplicateWindowSize: 0 });
  const recorder = await recordEvents(bus, [RiskAssessedSchema]);
  const service = await startTestService(riskService, {
    bus,
    platform: { flags: { file: flagsFile(options.failPolicy ?? 'review') } },
    service: {
      denyList: [deniedCustomer],
      // A shop's velocity limits (the shipped ones sit above what the load tools generate).
      rules: { velocityMaxOrders: 5, velocityMaxAmountMinor: 2_000_000 },
      ...options.service,
    },
  });
  const client = createRpcClient(RiskService, {
    baseUrl: service.url,
    defaultTimeoutMs: 5000,
    identity: await testCaller('gateway', 'risk'),
  });
  return { service, bus, recorder, client };
}

async function stopRisk(risk: RunningRisk | undefined): Promise<void> {
  await risk?.recorder.stop();
  await risk?.service.stop();
  await risk?.bus.close();
}

const anAssessmentRequest = (
  overrides: Partial<EventInit<typeof RiskAssessmentRequestedSchema>> = {},
) =>
  newEvent(RiskAssessmentRequestedSchema, {
    orderId: randomUUID(),
    customerId: `customer-${randomUUID()}`,
    amountCents: 4599n,
    currency: 'EUR',
    lines: [{ sku: 'SKU-A', quantity: 1, unitPriceCents: 4599n }],
    placedAt: timestampFromDate(new Date()),
    ...overrides,
  });

function answersFor(risk: RunningRisk, orderId: string) {
  return risk.recorder.of(RiskAssessedSchema).filter((e) => e.orderId === orderId);
}

async function firstAnswer(risk: RunningRisk, orderId: string) {
  const [answer] = await eventually(() => {
    const answers = answersFor(risk, orderId);
    expect(answers.length).toBeGreaterThan(0);
    return answers;
  });
  return answer!;
}

function errorOf(error: unknown): { code: Code; appCode: string | null } {
  expect(error).toBeInstanceOf(ConnectError);
  const connectError = error as ConnectError;
  return { code: connectError.code, appCode: connectError.metadata.get(errorCodeHeader) };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('assessments with the shipped rule plugin', () => {
  let risk: RunningRisk | undefined;
  beforeAll(async () => {
    risk = await startRisk();
  });
  afterAll(() => stopRisk(risk));

  test('when a small order of an unremarkable customer is assessed, then it is approved by the rule and the decision names the plugin', async () => {
    const request = anAssessmentRequest();
    await risk!.bus.publish([request.bus]);
    const answer = await firstAnswer(risk!, request.message.orderId);
    expect(answer).toMatchObject({
      decision: Decision.APPROVE,
      decidedBy: DecidedBy.RULE,
      failPolicy: false,
      customerId: request.message.customerId,
    });
    expect(answer.plugin?.name).toBe('basic-rules');
    expect(answer.plugin?.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(answer.plugin?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('when the customer is on the deny list, then the order is rejected with the rule reason', async () => {
    const request = anAssessmentRequest({ customerId: deniedCustomer });
    await risk!.bus.publish([request.bus]);
    const answer = await firstAnswer(risk!, request.message.orderId);
    expect(answer).toMatchObject({ decision: Decision.REJECT, decidedBy: DecidedBy.RULE });
    expect(answer.reasons).toContain('CUSTOMER_DENIED');
    expect(answer.score).toBe(1000);
  });

  test('when the amount is high, then the order is held for review and listed in the queue', async () => {
    const request = anAssessmentRequest({ amountCents: 250_000n });
    await risk!.bus.publish([request.bus]);
    const answer = await firstAnswer(risk!, request.message.orderId);
    expect(answer).toMatchObject({ decision: Decision.REVIEW, decidedBy: DecidedBy.RULE });
    expect(answer.reasons).toContain('AMOUNT_HIGH');
    const { reviews } = await risk!.client.listReviews({});
    const review = reviews.find((r) => r.orderId === request.message.orderId);
    expect(review).toMatchObject({
      status: ReviewStatus.OPEN,
      amountCents: 250_000n,
      currency: 'EUR',
      customerId: request.message.customerId,
    });
  });

  test('when the same assessment request arrives again (another event id), then the order is assessed and answered once', async () => {
    const first = anAssessmentRequest();
    const again = anAssessmentRequest({
      orderId: first.message.orderId,
      customerId: first.message.customerId,
    });
    await risk!.bus.publish([first.bus]);
    await risk!.bus.publish([again.bus]);
    await risk!.bus.publish([first.bus]);
    await firstAnswer(risk!, first.message.orderId);
    // The later requests were settled (publish resolves once consumers acked) without an answer.
    expect(answersFor(risk!, first.message.orderId)).toHaveLength(1);
    const { rows } = await risk!.service.runtime.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM assessments WHERE order_id = $1',
      [first.message.orderId],
    );
    expect(rows[0]?.n).toBe(1);
  });

  test('when a customer orders often, then velocity raises the score from their earlier orders', async () => {
    const customerId = `customer-${randomUUID()}`;
    const requests = Array.from({ length: 7 }, () =>
      anAssessmentRequest({ customerId, amountCents: 1000n }),
    );
    for (const request of requests) await risk!.bus.publish([request.bus]);
    const last = await firstAnswer(risk!, requests.at(-1)!.message.orderId);
    expect(last.reasons).toContain('VELOCITY_HIGH');
    expect(last.decision).not.toBe(Decision.APPROVE);
    const first = await firstAnswer(risk!, requests[0]!.message.orderId);
    expect(first.decision).toBe(Decision.APPROVE);
  });
});

describe('the review queue', () => {
  let risk: RunningRisk | undefined;
  beforeAll(async () => {
    risk = await startRisk();
  });
  afterAll(() => stopRisk(risk));

  async function heldOrder(): Promise<string> {
    const request = anAssessmentRequest({ amountCents: 250_000n });
    await risk!.bus.publish([request.bus]);
    expect((await firstAnswer(risk!, request.message.orderId)).decision).toBe(Decision.REVIEW);
    return request.message.orderId;
  }

  test('when an admin approves a held order, then the final RiskAssessed approves it as decided by the admin, and approving again changes nothing', async () => {
    const orderId = await heldOrder();
    const decided = await risk!.client.decideReview({
      orderId,
      decision: Decision.APPROVE,
      userId: 'admin-1',
    });
    expect(decided.replayed).toBe(false);
    expect(decided.review).toMatchObject({
      status: ReviewStatus.APPROVED,
      decidedBy: DecidedBy.ADMIN,
      decidedByUser: 'admin-1',
    });
    await eventually(() => expect(answersFor(risk!, orderId)).toHaveLength(2));
    expect(answersFor(risk!, orderId)[1]).toMatchObject({
      decision: Decision.APPROVE,
      decidedBy: DecidedBy.ADMIN,
      failPolicy: false,
    });

    const again = await risk!.client.decideReview({
      orderId,
      decision: Decision.APPROVE,
      userId: 'admin-1',
    });
    expect(again.replayed).toBe(true);
    const { reviews } = await risk!.client.listReviews({});
    expect(reviews.map((r) => r.orderId)).not.toContain(orderId);
    const { rows } = await risk!.service.runtime.db.query<{ n: number }>(
      // Every RiskAssessed the service ever wrote for this order (the payload holds the order id).
      `SELECT count(*)::int AS n FROM outbox
        WHERE event_type = 'risk.v1.RiskAssessed' AND position(convert_to($1, 'UTF8') in payload) > 0`,
      [orderId],
    );
    expect(rows[0]?.n).toBe(2);
  });

  test('when a review was decided, then the other decision is ALREADY_EXISTS (HTTP 409) with RISK_REVIEW_ALREADY_DECIDED', async () => {
    const orderId = await heldOrder();
    await risk!.client.decideReview({ orderId, decision: Decision.REJECT, userId: 'admin-1' });
    const error = await risk!.client
      .decideReview({ orderId, decision: Decision.APPROVE, userId: 'admin-2' })
      .catch((e: unknown) => e);
    expect(errorOf(error)).toEqual({
      code: Code.AlreadyExists,
      appCode: 'RISK_REVIEW_ALREADY_DECIDED',
    });
    await eventually(() => expect(answersFor(risk!, orderId)).toHaveLength(2));
    expect(answersFor(risk!, orderId)[1]).toMatchObject({
      decision: Decision.REJECT,
      decidedBy: DecidedBy.ADMIN,
    });
  });

  test('when the operator console asks about a reviewed order, then its timeline shows the assessment and the admin decision, and the summary counts open reviews', async () => {
    const orderId = await heldOrder();
    const gateway = {
      authorization: await (await testWorkloadIdentity('gateway')).authorization('risk'),
    };
    const operatorUrl = risk!.service.runtime.operatorUrl ?? '';
    const summaryBefore = (await (
      await fetch(`${operatorUrl}/admin/summary`, { headers: gateway })
    ).json()) as { summary: { openReviews: number } };
    await risk!.client.decideReview({ orderId, decision: Decision.REJECT, userId: 'admin-3' });
    const timeline = await fetch(`${operatorUrl}/admin/timeline/${orderId}`, { headers: gateway });
    expect(timeline.status).toBe(200);
    const { entries } = (await timeline.json()) as { entries: { what: string }[] };
    expect(entries.map((e) => e.what)).toEqual([
      expect.stringMatching(
        /^risk REVIEW by RULE, score \d+ AMOUNT_HIGH.* \(basic-rules@\d+\.\d+\.\d+\)$/,
      ),
      'review REJECTED by ADMIN',
    ]);
    const summaryAfter = (await (
      await fetch(`${operatorUrl}/admin/summary`, { headers: gateway })
    ).json()) as { summary: { openReviews: number } };
    expect(summaryAfter.summary.openReviews).toBe(summaryBefore.summary.openReviews - 1);
  });

  test('when the order was never held, then the decision is NOT_FOUND with RISK_REVIEW_NOT_FOUND', async () => {
    const error = await risk!.client
      .decideReview({ orderId: randomUUID(), decision: Decision.APPROVE, userId: 'admin-1' })
      .catch((e: unknown) => e);
    expect(errorOf(error)).toEqual({ code: Code.NotFound, appCode: 'RISK_REVIEW_NOT_FOUND' });
  });

  test('when the decision is neither approve nor reject, then it is INVALID_ARGUMENT', async () => {
    const orderId = await heldOrder();
    const error = await risk!.client
      .decideReview({ orderId, decision: Decision.REVIEW, userId: 'admin-1' })
      .catch((e: unknown) => e);
    expect(errorOf(error)).toEqual({
      code: Code.InvalidArgument,
      appCode: 'RISK_INVALID_REVIEW_DECISION',
    });
  });
});

describe('the fail policy', () => {
  test('when no plugin can score (the plugin folder is empty), then the fail policy decides and the decision is marked', async () => {
    const emptyPlugins = mkdtempSync(join(dir, 'no-plugins-'));
    const risk = await startRisk({
      failPolicy: 'reject',
      service: { plugins: { dir: emptyPlugins } },
    });
    try {
      const request = anAssessmentRequest();
      await risk.bus.publish([request.bus]);
      const answer = await firstAnswer(risk, request.message.orderId);
      expect(answer).toMatchObject({
        decision: Decision.REJECT,
        decidedBy: DecidedBy.FAIL_POLICY,
        failPolicy: true,
        score: 0,
      });
      expect(answer.reasons).toEqual(['FAIL_POLICY_NO_PLUGIN']);
      const { rows } = await risk.service.runtime.db.query<{ failure: string }>(
        'SELECT failure FROM assessments WHERE order_id = $1',
        [request.message.orderId],
      );
      expect(rows[0]?.failure).toBe('no-plugin');
    } finally {
      await stopRisk(risk);
    }
  });

  test.each([
    // A trap is not retried; a timeout is, once as shipped (services.risk.plugins.retries).
    ['trapping', 'approve', Decision.APPROVE, 'trap', 1],
    ['looping', 'reject', Decision.REJECT, 'timeout', 2],
  ] as const)(
    'when the served plugin is the %s drill fixture, then the fail policy (%s) decides every order, marked with the failure and the attempts',
    async (fixture, failPolicy, decision, failure, attempts) => {
      const risk = await startRisk({
        failPolicy,
        service: {
          plugins: {
            dir: `services/risk/plugins/fixtures/drill/${fixture}`,
            callTimeoutMs: 100,
          },
          rules: { fixtureFaultEveryOrder: 1 },
        },
      });
      try {
        const request = anAssessmentRequest();
        await risk.bus.publish([request.bus]);
        const answer = await firstAnswer(risk, request.message.orderId);
        expect(answer).toMatchObject({
          decision,
          decidedBy: DecidedBy.FAIL_POLICY,
          failPolicy: true,
        });
        expect(answer.plugin?.name).toBe('basic-rules');
        const { rows } = await risk.service.runtime.db.query<{
          failure: string;
          plugin_attempts: number;
        }>('SELECT failure, plugin_attempts FROM assessments WHERE order_id = $1', [
          request.message.orderId,
        ]);
        expect(rows[0]).toEqual({ failure, plugin_attempts: attempts });
        const gateway = {
          authorization: await (await testWorkloadIdentity('gateway')).authorization('risk'),
        };
        const timeline = await fetch(
          `${risk.service.runtime.operatorUrl ?? ''}/admin/timeline/${request.message.orderId}`,
          { headers: gateway },
        );
        const { entries } = (await timeline.json()) as { entries: { what: string }[] };
        expect(entries[0]?.what).toMatch(
          attempts > 1 ? / \(basic-rules@1\.0\.0\) after 2 attempts$/ : / \(basic-rules@1\.0\.0\)$/,
        );
      } finally {
        await stopRisk(risk);
      }
    },
  );

  test('when the review timeout would outlast the reservation TTL, then the configuration is refused at start, naming both keys', () => {
    const document = (reviewTimeoutMs: number) =>
      loadConfigDocument({
        argv: [],
        env: {},
        overrides: { services: { risk: { reviewTimeoutMs } } },
      });
    expect(() => checkReviewTimeout(document(300_000))).not.toThrow();
    const error = (() => {
      try {
        checkReviewTimeout(document(600_000));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join('\n')).toMatch(
      /services\.risk\.reviewTimeoutMs: value 600000 .*services\.inventory\.reservationTtlMs \(600000\)/,
    );
  });

  test('when a held order is not decided in time, then the review timeout applies the fail policy, marked', async () => {
    const risk = await startRisk({
      failPolicy: 'approve',
      service: { reviewTimeoutMs: 1, reviewSweepIntervalMs: 50 },
    });
    try {
      const request = anAssessmentRequest({ amountCents: 250_000n });
      await risk.bus.publish([request.bus]);
      const { orderId } = request.message;
      await eventually(() => expect(answersFor(risk, orderId)).toHaveLength(2));
      const [held, final] = answersFor(risk, orderId);
      expect(held?.decision).toBe(Decision.REVIEW);
      expect(final).toMatchObject({
        decision: Decision.APPROVE,
        decidedBy: DecidedBy.REVIEW_TIMEOUT,
        failPolicy: true,
      });
      const error = await risk.client
        .decideReview({ orderId, decision: Decision.REJECT, userId: 'admin-1' })
        .catch((e: unknown) => e);
      expect(errorOf(error).appCode).toBe('RISK_REVIEW_ALREADY_DECIDED');
    } finally {
      await stopRisk(risk);
    }
  });
});
