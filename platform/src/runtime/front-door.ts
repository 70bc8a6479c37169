import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { PlatformConfig } from '../config/index.js';
import type { FaultInjector } from '../faults/index.js';
import type { Logger } from '../log/index.js';
import {
  errorMappingInterceptor,
  rpcCallerCheck,
  rpcServerTelemetry,
  type WorkloadIdentity,
} from '../rpc/index.js';
import { traceHttpRequest, type Telemetry } from '../telemetry/index.js';
import { sendHealth, sendJson } from './json-answers.js';
import { sendReadiness, type Readiness } from './readiness.js';
import type { ServiceRuntimeOptions } from './service-options.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The HTTP server, listening from early in `create`: while dependencies are waited for it answers
 * `/healthz` (200) and `/readyz` (503) only; `start` hands it the service's own handler.
 */
export interface FrontDoor {
  readonly server: Server;
  readonly url: string;
  handler: RequestHandler;
}

/**
 * Listens on the service's port at once, answering only `/healthz` and `/readyz` (and 503 to anything
 * else) until the runtime replaces `handler` in `start`.
 */
export async function openFrontDoor(
  options: ServiceRuntimeOptions,
  readiness: Readiness,
  health: () => PlatformConfig['health'],
): Promise<FrontDoor> {
  const server = createServer((req, res) => front.handler(req, res));
  const front: FrontDoor = {
    server,
    url: '',
    handler: (req, res) => {
      const path = req.url?.split('?')[0];
      if (path === '/healthz') return sendHealth(res);
      if (path === '/readyz') return void sendReadiness(res, readiness, health(), undefined);
      sendJson(res, 503, {
        error: { code: 'SERVICE_STARTING', message: `${options.name} is starting` },
      });
    },
  };
  // Keep-alive connections from callers should outlive their idle gaps but not a shutdown.
  server.keepAliveTimeout = options.platform.rpc.defaultTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(
      {
        port: options.http.port,
        host: options.http.host,
        backlog: options.platform.http.listenBacklog,
      },
      () => resolve(),
    );
  });
  const address = server.address() as AddressInfo;
  return Object.assign(front, { url: `http://${options.http.host}:${address.port}` });
}

/** What the service's handler reads from its service (the ServiceRuntime). */
export interface HandlerService {
  readonly options: Pick<ServiceRuntimeOptions, 'rpcCallers'>;
  readonly identity: WorkloadIdentity;
  readonly telemetry: Telemetry;
  readonly log: Logger;
  readonly faults: FaultInjector;
}

export interface ServiceHandlers {
  /** The Connect services (`ServiceRuntime.routes`), registered when the handler is made. */
  readonly routers: readonly ((router: ConnectRouter) => void)[];
  /** Serves every non-health request instead of Connect (`ServiceRuntime.serveHttp`). */
  readonly custom: RequestHandler | undefined;
  readonly answerReadiness: (res: ServerResponse) => Promise<void>;
}

/** From `start` on, the front door serves the service: Connect (or its own handler) behind health. */
export function serveService(
  front: FrontDoor,
  service: HandlerService,
  { routers, custom, answerReadiness }: ServiceHandlers,
): void {
  const connect = connectNodeAdapter({
    routes: (router) => routers.forEach((register) => register(router)),
    // Telemetry outermost: its span covers the whole call and sees the mapped error code.
    interceptors: [
      rpcServerTelemetry(service.telemetry),
      errorMappingInterceptor(service.log),
      // Deny by default: a caller without a valid service token, or not listed for the procedure, is refused.
      rpcCallerCheck(service.identity, service.options.rpcCallers ?? (() => ({}))),
      service.faults.rpcInterceptor(),
    ],
  });
  const appHandler = custom
    ? (req: IncomingMessage, res: ServerResponse) => withHttpFaults(service, req, res, custom)
    : connect;
  // The server has listened since `create` (health only); from now on it serves the service.
  front.handler = (req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/healthz') return sendHealth(res);
    if (path === '/readyz') return void answerReadiness(res);
    // /metrics and /admin/* are served on the operator port only (see operator-endpoints.ts).
    // The gateway's HTTP API gets a server span here; Connect calls get theirs from the interceptor.
    if (custom) traceHttpRequest(service.telemetry, req, res, appHandler);
    else appHandler(req, res);
  };
}

/**
 * Graceful close: no new connections, idle keep-alive connections closed now and every
 * `idleSweepMs` (those that finish their last request while we wait), resolved once all are gone.
 */
export async function closeFrontDoor(front: FrontDoor, idleSweepMs: number): Promise<void> {
  const server = front.server;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const idleSweep = setInterval(() => server.closeIdleConnections(), idleSweepMs);
  await closed;
  clearInterval(idleSweep);
}

/** Fault injection for requests served by a custom handler (the gateway's HTTP API). */
function withHttpFaults(
  service: Pick<HandlerService, 'faults' | 'log'>,
  req: IncomingMessage,
  res: ServerResponse,
  handler: RequestHandler,
): void {
  service.faults.requestFault('http').then(
    async (fault) => {
      if (fault.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.failure) {
        return sendJson(res, 503, {
          error: { code: fault.failure.code, message: fault.failure.message },
        });
      }
      handler(req, res);
    },
    (error: unknown) => {
      service.log.error({ err: error }, 'fault injection failed, request served normally');
      handler(req, res);
    },
  );
}
