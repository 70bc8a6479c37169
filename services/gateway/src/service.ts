import type { Client } from '@connectrpc/connect';
import { IdentityService } from '@orderly/identity-contract/identity_service';
import { RiskService } from '@orderly/risk-contract/risk_service';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { OrderService } from '@orderly/order-contract/order_service';
import {
  createRpcClient,
  defineService,
  fromRpcError,
  openSharedState,
  type ServiceContext,
} from '@orderly/platform';
import { gatewayConfigSchema, type GatewayConfig } from './config.js';
import { AccessTokenVerifier } from './entry-points/auth/access-token-verifier.js';
import { OrderIntakeBatcher } from './entry-points/orders/order-intake-batcher.js';
import { buildHttpApp } from './entry-points/http/http-app.js';
import { orderServiceAdmission } from './entry-points/http/upstream-admission.js';
import { localBuckets, TokenBuckets } from './entry-points/http/rate-limiter.js';
import { FlagHistory } from './entry-points/console/flag-history.js';
import { OperatorPorts } from './entry-points/console/operator-ports.js';
import { contractTelemetry } from './entry-points/http/contract-metrics.js';
import {
  callersReport,
  ContractCallers,
  DefaultVersionFlag,
} from './entry-points/http/contract-versions.js';

export { gatewayConfigSchema, type GatewayConfig } from './config.js';

/** What a test may put in place of the gateway's Connect clients for the configured service URLs. */
export interface GatewayAdapters {
  readonly orderClient: Client<typeof OrderService>;
  readonly inventoryClient: Client<typeof InventoryService>;
  readonly identityClient: Client<typeof IdentityService>;
  readonly riskClient: Client<typeof RiskService>;
}

/**
 * The gateway: the public HTTP/JSON API in front of the order, inventory and identity services. No
 * database, no bus. With a `LiveConfig` the reloadable limits and budgets follow the configuration file.
 */
export const gatewayService = defineService({
  name: 'gateway',
  configSchema: gatewayConfigSchema,
  usesBus: false,
  async wire(runtime, { live, adapters }: ServiceContext<GatewayConfig, GatewayAdapters>) {
    const { platform, service } = live;
    const rpcOptions = {
      defaultTimeoutMs: service.requestTimeoutMs,
      telemetry: runtime.telemetry,
      resilience: platform.rpc.resilience,
      maxConnections: platform.rpc.maxConnectionsPerCallee,
      idleConnectionTimeoutMs: platform.rpc.idleConnectionTimeoutMs,
    };
    const orderClient =
      adapters.orderClient ??
      createRpcClient(OrderService, {
        baseUrl: service.orderServiceUrl,
        ...rpcOptions,
        identity: { caller: runtime.identity, audience: 'order' },
      });
    const inventoryClient =
      adapters.inventoryClient ??
      createRpcClient(InventoryService, {
        baseUrl: service.inventoryServiceUrl,
        ...rpcOptions,
        identity: { caller: runtime.identity, audience: 'inventory' },
      });
    const identityClient =
      adapters.identityClient ??
      createRpcClient(IdentityService, {
        baseUrl: service.identityServiceUrl,
        ...rpcOptions,
        identity: { caller: runtime.identity, audience: 'identity' },
      });
    const riskClient =
      adapters.riskClient ??
      createRpcClient(RiskService, {
        baseUrl: service.riskServiceUrl,
        ...rpcOptions,
        identity: { caller: runtime.identity, audience: 'risk' },
      });
    const verifier = new AccessTokenVerifier(
      async () => {
        try {
          const { keys } = await identityClient.getJwks(
            {},
            { timeoutMs: service.requestTimeoutMs },
          );
          // JWK members as RFC 7517/8037 have them: an OKP key (EdDSA) has no y.
          return keys.map(({ kty, crv, x, y, kid, alg, use }) => ({
            kty,
            crv,
            x,
            ...(y ? { y } : {}),
            kid,
            alg,
            use,
          }));
        } catch (error) {
          throw fromRpcError(error, 'identity.GetJwks');
        }
      },
      {
        issuer: service.auth.issuer,
        audience: service.auth.audience,
        clockSkewMs: service.auth.clockSkewMs,
        refetchMinIntervalMs: service.auth.jwksRefetchMinIntervalMs,
        maxAgeMs: service.auth.jwksMaxAgeMs,
        maxTokenLength: service.auth.maxTokenLength,
        verifiedCacheSize: service.auth.verifiedTokenCacheSize,
        acceptedAlgorithms: () => live.service.auth.acceptedAlgorithms,
      },
      runtime.log,
    );

    runtime.readiness('order', (signal) =>
      upstreamHealthy(service.orderServiceUrl, 'order', signal),
    );
    runtime.readiness('inventory', (signal) =>
      upstreamHealthy(service.inventoryServiceUrl, 'inventory', signal),
    );
    runtime.readiness('identity', (signal) =>
      upstreamHealthy(service.identityServiceUrl, 'identity', signal),
    );

    // Limits and budgets are baked into the app's schemas and hooks (and its OpenAPI document), so a
    // reloaded gateway key builds a new app and swaps it in; requests in flight finish on the old one.
    // Rate-limit buckets live outside the app and survive the swap: shared by the replicas when the
    // bus is NATS (distributed mode), in memory when it is not (embedded mode).
    const { rateLimits } = service;
    const sharedBuckets = await openSharedState(
      platform,
      {
        service: 'gateway',
        bucket: rateLimits.shared.bucket,
        entryTtlMs: rateLimits.shared.entryTtlMs,
        maxEntries: rateLimits.maxTrackedKeys,
        maxBytes: rateLimits.shared.maxBytes,
        operationTimeoutMs: rateLimits.shared.operationTimeoutMs,
        maxAttempts: rateLimits.shared.maxAttempts,
        roundIntervalMs: rateLimits.shared.roundIntervalMs,
      },
      runtime.log,
    );
    runtime.closeOnStop(() => sharedBuckets.close());
    const localFallbacks = runtime.telemetry.meter.createCounter(
      'gateway.rate_limits.local_fallbacks',
      {
        unit: '{request}',
        description:
          'Rate-limit buckets taken from this replica’s memory because the shared store did not answer.',
      },
    );
    const buckets = new TokenBuckets({
      shared: sharedBuckets,
      local: localBuckets(rateLimits),
      log: runtime.log,
      onLocalFallback: () => localFallbacks.add(1),
    });
    // Like the buckets, the count of calls in flight must survive the swap.
    const orderAdmission = orderServiceAdmission(() => live.service);
    // And so must the batches of PlaceOrder calls being gathered.
    const orderIntake = new OrderIntakeBatcher(orderClient, () => live.service.orderIntakeBatch);
    // The console's reach into the services and its flag audit trail outlive the swaps too.
    const operatorPorts = new OperatorPorts(runtime.identity, () => ({
      platform: live.platform,
      operatorConsole: live.service.operatorConsole,
    }));
    const flagHistory = new FlagHistory(runtime.flags, service.operatorConsole.flagChangesKept);
    // Contract versions: who still calls an old one, the flag that moves the default, the metrics.
    const contractCallers = new ContractCallers(() => live.service.contract.callersKept);
    const contractDefaultFlag = new DefaultVersionFlag(runtime.flags, runtime.log);
    runtime.closeOnStop(() => Promise.resolve(contractDefaultFlag.close()));
    const { countCall: countContractCall, countRouteCall } = contractTelemetry(
      runtime.telemetry.meter,
      () => live.service.contract,
    );
    runtime.operatorGet('/admin/contracts/callers', () =>
      Promise.resolve(callersReport(live.service.contract, contractCallers)),
    );
    const build = () =>
      buildHttpApp({
        config: live.service,
        log: runtime.log,
        telemetry: runtime.telemetry,
        orderClient,
        inventoryClient,
        identityClient,
        riskClient,
        verifier,
        buckets,
        orderAdmission,
        orderIntake,
        flags: runtime.flags,
        operatorPorts,
        flagHistory,
        contractCallers,
        contractDefaultFlag,
        countContractCall,
        countRouteCall,
      });
    let app = await build();
    live.onChange((changed) => {
      if (!changed.some((key) => key.startsWith('services.gateway.'))) return;
      build().then(
        (next) => {
          const previous = app;
          app = next;
          void previous.close();
        },
        (error: unknown) =>
          runtime.log.error(
            { err: error },
            'gateway rebuild after configuration change failed, previous kept',
          ),
      );
    });
    runtime.serveHttp((req, res) => app.routing(req, res));
  },
});

async function upstreamHealthy(baseUrl: string, name: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(new URL('/healthz', baseUrl), { signal });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`${name} answered ${response.status}`);
}
