import { readFileSync } from 'node:fs';
import type { Client } from '@connectrpc/connect';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, type Flags } from '@orderly/platform';
import type { OrderService } from '@orderly/order-contract/order_service';
import type { GatewayConfig } from '../../config.js';
import { orderNotFound, upstreamInvalidResponse } from '../http/http-errors.js';
import { callUpstream } from '../http/request-deadline.js';
import { orderToJson } from '../orders/order-json.js';
import {
  anyOrderSchema,
  listDeadLettersSchema,
  listFlagsSchema,
  orderTimelineSchema,
  redriveDeadLettersSchema,
  systemOverviewSchema,
} from './console-schemas.js';
import type { FlagHistory } from './flag-history.js';
import { operatorFailure, type OperatorPorts } from './operator-ports.js';

export interface ConsoleRoutesDeps {
  readonly config: GatewayConfig;
  readonly orderClient: Client<typeof OrderService>;
  readonly operatorPorts: OperatorPorts;
  readonly flags: Flags | undefined;
  readonly flagHistory: FlagHistory | undefined;
}

const consoleUnavailable = (what: string, why: string) =>
  new AppError('CONSOLE_UPSTREAM_UNAVAILABLE', `${what}: ${why}`, { kind: 'unavailable' });

/** Why a fetch to an operator port failed, in one line. */
function reason(error: unknown): string {
  if (error instanceof AppError) return error.message;
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return cause ?? (error instanceof Error ? error.message : String(error));
}

/**
 * The operator console's API, all admin only: the system overview, an order's timeline, dead letters
 * and their redrive, feature flags. Each reads the services through their operator ports.
 */
export function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleRoutesDeps): void {
  const { config, orderClient, operatorPorts, flags, flagHistory } = deps;
  const admin = { access: 'admin' } as const;

  app.get('/v1/admin/system', { schema: systemOverviewSchema, config: admin }, async (request) => {
    const { signal } = request.deadline;
    const services = await Promise.all(
      operatorPorts.services().map((name) => serviceState(operatorPorts, name, signal)),
    );
    const orders = await operatorPorts.get('order', '/admin/summary', signal).then(
      (answer) =>
        answer.status === 200 ? ((answer.json as { summary?: object }).summary ?? {}) : {},
      () => ({}),
    );
    return {
      at: new Date().toISOString(),
      refreshIntervalMs: config.operatorConsole.refreshIntervalMs,
      services,
      orders,
    };
  });

  app.get<{ Params: { orderId: string } }>(
    '/v1/admin/orders/:orderId',
    { schema: anyOrderSchema, config: admin },
    async (request) => {
      const { orderId } = request.params;
      const { order } = await callUpstream(
        request.deadline,
        'order.GetOrderForOperator',
        (options) => orderClient.getOrderForOperator({ orderId }, options),
      );
      if (!order) throw orderNotFound();
      if (!order.customerId) throw upstreamInvalidResponse('order');
      return { ...orderToJson(order), customerId: order.customerId };
    },
  );

  app.get<{ Params: { orderId: string } }>(
    '/v1/admin/orders/:orderId/timeline',
    { schema: orderTimelineSchema, config: admin },
    async (request) => {
      const { orderId } = request.params;
      const timeline: { at: string; service: string; what: string }[] = [];
      const unavailable: Record<string, string> = {};
      const services = operatorPorts.services().filter((name) => name !== 'gateway');
      await Promise.all(
        services.map(async (service) => {
          try {
            const answer = await operatorPorts.get(
              service,
              `/admin/timeline/${encodeURIComponent(orderId)}`,
              request.deadline.signal,
            );
            if (answer.status !== 200) {
              unavailable[service] = operatorFailure(answer);
              return;
            }
            const { entries } = answer.json as { entries: { at: string; what: string }[] };
            for (const entry of entries) timeline.push({ ...entry, service });
          } catch (error) {
            unavailable[service] = reason(error);
          }
        }),
      );
      timeline.sort((a, b) => a.at.localeCompare(b.at));
      return { timeline, unavailable };
    },
  );

  app.get('/v1/admin/dead-letters', { schema: listDeadLettersSchema, config: admin }, (request) =>
    deadLetterCall(request, operatorPorts, config, 'list', async (service, signal) => {
      const answer = await operatorPorts.get(service, '/admin/dead-letters', signal);
      if (answer.status !== 200) throw consoleUnavailable('dead letters', operatorFailure(answer));
      const letters = (answer.json as { deadLetters: Record<string, unknown>[] }).deadLetters;
      return {
        deadLetters: letters.map((l) => ({
          id: l.id,
          subscription: l.subscription,
          subject: l.subject,
          eventId: l.eventId,
          attempts: l.attempts,
          failedAt: l.failedAt,
          error: l.error,
        })),
      };
    }),
  );

  app.post<{ Body: { ids: string[] } }>(
    '/v1/admin/dead-letters/redrive',
    { schema: redriveDeadLettersSchema, config: admin },
    (request) =>
      deadLetterCall(request, operatorPorts, config, 'redrive', async (service, signal) => {
        const answer = await operatorPorts.post(
          service,
          '/admin/dead-letters/redrive',
          { ids: request.body.ids },
          signal,
        );
        if (answer.status !== 200) throw consoleUnavailable('redrive', operatorFailure(answer));
        request.log.info({ count: request.body.ids.length }, 'dead letters redriven by an admin');
        return { redriven: (answer.json as { redriven: number }).redriven };
      }),
  );

  app.get('/v1/admin/flags', { schema: listFlagsSchema, config: admin }, async () => {
    if (!flags) throw consoleUnavailable('feature flags', 'this gateway runs without flags');
    const status = flags.status();
    return {
      hash: status.hash,
      ...(status.error ? { error: status.error } : {}),
      flags: await flagStates(flags, status.file),
      changes: flagHistory?.changes() ?? [],
    };
  });
}

async function deadLetterCall<T>(
  request: FastifyRequest,
  operatorPorts: OperatorPorts,
  config: GatewayConfig,
  what: string,
  call: (service: string, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  try {
    return await call(config.operatorConsole.deadLettersFrom, request.deadline.signal);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw consoleUnavailable(`dead letters (${what})`, reason(error));
  }
}

async function serviceState(operatorPorts: OperatorPorts, name: string, signal: AbortSignal) {
  try {
    const [readiness, resources] = await Promise.all([
      operatorPorts.readiness(name, signal),
      operatorPorts.get(name, '/admin/debug/resources', signal).catch(() => undefined),
    ]);
    const ready = readiness.json as
      | { status?: string; checks?: Record<string, string>; details?: { flagsHash?: string } }
      | undefined;
    const figures =
      resources?.status === 200
        ? (resources.json as {
            outbox?: { unpublished?: number } | null;
            bus?: { consumers?: { subscription: string; pending: number; inFlight: number }[] };
          })
        : undefined;
    return {
      name,
      ready: readiness.status === 200,
      ...(ready?.status ? { status: ready.status } : {}),
      ...(ready?.checks ? { checks: ready.checks } : {}),
      ...(ready?.details?.flagsHash ? { flagsHash: ready.details.flagsHash } : {}),
      ...(typeof figures?.outbox?.unpublished === 'number'
        ? { outboxBacklog: figures.outbox.unpublished }
        : {}),
      ...(figures?.bus?.consumers
        ? {
            consumerLag: Object.fromEntries(
              figures.bus.consumers.map((c) => [c.subscription, c.pending + c.inFlight]),
            ),
          }
        : {}),
    };
  } catch (error) {
    return { name, ready: false, unavailable: reason(error) };
  }
}

interface FlagDefinition {
  state?: string;
  variants?: Record<string, boolean | number | string>;
  defaultVariant?: string;
  targeting?: unknown;
}

/** Each flag of the file with what an evaluation without targeting answers now. */
async function flagStates(flags: Flags, file: string) {
  let definitions: Record<string, FlagDefinition> = {};
  try {
    definitions =
      (JSON.parse(readFileSync(file, 'utf8')) as { flags?: Record<string, FlagDefinition> })
        .flags ?? {};
  } catch {
    // The status's error says why; the list is empty meanwhile.
  }
  return Promise.all(
    Object.entries(definitions).map(async ([key, definition]) => {
      const variants = definition.variants ?? {};
      const sample = Object.values(variants)[0];
      const value =
        typeof sample === 'boolean'
          ? await flags.boolean(key, false)
          : typeof sample === 'number'
            ? await flags.number(key, 0)
            : await flags.string(key, '');
      return {
        key,
        enabled: definition.state === 'ENABLED',
        defaultVariant: definition.defaultVariant ?? '',
        value,
        variants,
        targeted: definition.targeting !== undefined && definition.targeting !== null,
      };
    }),
  );
}
