import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bus } from '../bus/index.js';
import type { LiveConfig } from '../config/index.js';
import { findAppError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { callerNotAllowed, type WorkloadIdentity } from '../rpc/index.js';
import type { Telemetry } from '../telemetry/index.js';
import { answerDebug } from './debug-endpoints.js';
import type { ServiceDiagnostics } from './diagnostics.js';
import { answerConsole, isConsoleRoute, type ConsoleSources } from './console-endpoints.js';
import { sendHealth, sendJson } from './json-answers.js';
import type { ServiceRuntimeOptions } from './service-options.js';

/** What the operator port reads from its service (the ServiceRuntime). */
export interface OperatorService {
  readonly options: Pick<ServiceRuntimeOptions, 'name' | 'http' | 'platform'>;
  readonly telemetry: Telemetry;
  /** Checks the service token of admin requests. */
  readonly identity: WorkloadIdentity;
  /** `workloadIdentity.adminCallers` (the workloads allowed on `/admin/*`) is read at each request. */
  readonly live: LiveConfig<unknown>;
  readonly log: Logger;
  /** Read by `/admin/debug/*` (debug-endpoints.ts). */
  readonly diagnostics: ServiceDiagnostics;
  /** Read by `/admin/timeline/*` and `/admin/summary` (console-endpoints.ts). */
  readonly consoleSources: ConsoleSources;
}

export interface OperatorEndpoints {
  /** Base URL of the operator port. */
  readonly url: string;
  /** Closes the port and every connection on it at once. */
  close(): Promise<void>;
}

/**
 * The operator port: `/metrics` for Prometheus (no credentials), `/healthz`, `/readyz`, and the admin
 * endpoints (dead letters, `/admin/debug/*`), which need a service token from a workload in
 * `workloadIdentity.adminCallers`.
 * Kubernetes lets only the monitoring namespace reach it (tools/build/src/k8s).
 */
export async function openOperatorEndpoints(
  service: OperatorService,
  /** Absent: no `/admin/dead-letters`. */
  bus: Bus | undefined,
  answerReadiness: (res: ServerResponse) => Promise<void>,
): Promise<OperatorEndpoints | undefined> {
  const { options, telemetry } = service;
  const port = options.http.operatorPort;
  if (port === undefined) return undefined;
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/healthz') return sendHealth(res);
    if (path === '/readyz') return void answerReadiness(res);
    if (path === telemetry.metricsPath && req.method === 'GET')
      return telemetry.serveMetrics(req, res);
    if (path?.startsWith('/admin/')) return void answerAdmin(service, bus, path, req, res);
    sendJson(res, 404, {
      error: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method ?? ''} ${path ?? ''}` },
    });
  });
  server.keepAliveTimeout = options.platform.rpc.defaultTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.http.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.http.host}:${address.port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** `/admin/*`: only for the workloads of `workloadIdentity.adminCallers` (the operator). */
async function answerAdmin(
  service: OperatorService,
  bus: Bus | undefined,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const caller = await service.identity.verify(req.headers.authorization);
    const { adminCallers, consoleCallers } = service.live.platform.workloadIdentity;
    const query = new URLSearchParams(req.url?.split('?')[1] ?? '');
    const allowed =
      adminCallers.includes(caller) ||
      (consoleCallers.includes(caller) && isConsoleRoute(req.method ?? '', path, query));
    if (!allowed) throw callerNotAllowed(caller, `${req.method ?? ''} ${path}`);
  } catch (error) {
    const appError = findAppError(error);
    const status = appError?.kind === 'forbidden' ? 403 : 401;
    return sendJson(res, status, {
      error: {
        code: appError?.code ?? 'CALLER_UNAUTHENTICATED',
        message: appError?.message ?? 'caller not authenticated',
      },
    });
  }
  if (path.startsWith('/admin/dead-letters') && bus)
    return answerDeadLetters(bus, service.log, path, req, res);
  const { defaultTimeoutMs } = service.live.platform.rpc;
  if (answerConsole(service.consoleSources, service.log, defaultTimeoutMs, path, req, res)) return;
  if (path.startsWith('/admin/debug/'))
    return answerDebug(
      {
        name: service.options.name,
        diagnostics: service.diagnostics,
        platform: () => service.live.platform,
        log: service.log,
      },
      path,
      req,
      res,
    );
  sendJson(res, 404, {
    error: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method ?? ''} ${path}` },
  });
}

/**
 * Operator endpoints on the service's operator port (never routed by the gateway, operator identity only):
 * `GET /admin/dead-letters` lists them, `POST /admin/dead-letters/redrive` with `{"ids":[...]}`
 * (or no body for all) redrives them. The CLI uses these in embedded mode, where the bus lives in-process.
 */
async function answerDeadLetters(
  bus: Bus,
  log: Logger,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    if (req.method === 'GET' && path === '/admin/dead-letters') {
      const letters = await bus.listDeadLetters();
      return sendJson(res, 200, {
        deadLetters: letters.map((l) => ({ ...l, data: Buffer.from(l.data).toString('base64') })),
      });
    }
    if (req.method === 'POST' && path === '/admin/dead-letters/redrive') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      const ids = body ? (JSON.parse(body) as { ids?: string[] }).ids : undefined;
      return sendJson(res, 200, { redriven: await bus.redriveDeadLetters(ids) });
    }
    sendJson(res, 404, {
      error: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method ?? ''} ${path}` },
    });
  } catch (error) {
    log.error({ err: error }, 'dead letter request failed');
    sendJson(res, 400, { error: { code: 'DEAD_LETTER_REQUEST_FAILED', message: String(error) } });
  }
}
