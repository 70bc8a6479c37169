import { readFileSync } from 'node:fs';
import { deepMerge, loadConfigDocument } from '@orderly/platform';
import { parse } from 'yaml';
import {
  repoRoot,
  servicesWithDatabase,
  shippedServices,
  type ServiceWithDatabase,
  type ShippedService,
} from '../services.js';

/** In-cluster names: one Kubernetes Service per Orderly service, plus `nats` and `postgres`. */
export const natsServiceName = 'nats';
export const postgresServiceName = 'postgres';
export const natsClientPort = 4222;
export const postgresPort = 5432;
/**
 * NATS servers in the cluster's JetStream cluster, and the copies it keeps of each stream: every
 * server holds one, a publish is acknowledged once two of three stored it, and one node may be lost
 * (or drained) without losing an acknowledged event — what `npm run start:cluster` rehearses.
 */
export const natsReplicas = 3;

/**
 * The config file services read in the cluster (mounted from a ConfigMap): config/prod.yaml plus the
 * in-cluster addresses and `bus.streamReplicas` of the cluster's NATS (a service creating or finding
 * the stream applies it).
 */
export function clusterConfigDocument(ports = servicePorts()): Record<string, unknown> {
  const prod = parse(readFileSync(`${repoRoot}config/prod.yaml`, 'utf8')) as Record<
    string,
    unknown
  >;
  return deepMerge(prod, {
    bus: {
      natsServers: `nats://${natsServiceName}:${natsClientPort}`,
      streamReplicas: natsReplicas,
    },
    services: {
      gateway: {
        orderServiceUrl: `http://order:${ports.order}`,
        inventoryServiceUrl: `http://inventory:${ports.inventory}`,
        identityServiceUrl: `http://identity:${ports.identity}`,
        // The console's routes read every service's operator port (workloadIdentity.consoleCallers).
        operatorConsole: {
          operatorUrls: Object.fromEntries(
            shippedServices.map((s) => [s, `http://${s}:${prodOperatorPorts()[s]}`]),
          ),
        },
      },
    },
  });
}

/** Each service's operator port as config/default.yaml < config/prod.yaml set it. */
function prodOperatorPorts(): Record<ShippedService, number> {
  const { document } = loadConfigDocument({
    argv: ['--config', `${repoRoot}config/prod.yaml`],
    env: {},
  });
  const servicesSection = document.services as Record<string, { operatorPort: number }>;
  return Object.fromEntries(
    shippedServices.map((s) => [s, Number(servicesSection[s]?.operatorPort)]),
  ) as Record<ShippedService, number>;
}

/** Each service's port as the shipped configuration sets it (config/default.yaml < config/prod.yaml). */
export function servicePorts(): Record<ShippedService, number> {
  const { document } = loadConfigDocument({
    argv: ['--config', `${repoRoot}config/prod.yaml`],
    env: {},
  });
  const servicesSection = document.services as Record<string, { port: number }>;
  return Object.fromEntries(
    shippedServices.map((s) => [s, Number(servicesSection[s]?.port)]),
  ) as Record<ShippedService, number>;
}

/** Each service's operator port (/metrics, /admin/*) as the shipped configuration sets it. */
export function serviceOperatorPorts(): Record<ShippedService, number> {
  const services = effectiveClusterConfig().services as Record<string, { operatorPort: number }>;
  return Object.fromEntries(
    shippedServices.map((s) => [s, Number(services[s]?.operatorPort)]),
  ) as Record<ShippedService, number>;
}

/**
 * The workloads whose service tokens `service` must verify: the callers its rpcCallers allow, and the
 * admin and console callers of its operator port. Its pod mounts exactly their public keys.
 */
export function trustedCallers(service: ShippedService): string[] {
  const config = effectiveClusterConfig();
  const own = (config.services as Record<string, { rpcCallers?: Record<string, string[]> }>)[
    service
  ];
  const { adminCallers, consoleCallers } = config.workloadIdentity as {
    adminCallers: string[];
    consoleCallers: string[];
  };
  return [
    ...new Set([
      ...Object.values(own?.rpcCallers ?? {}).flat(),
      ...adminCallers,
      ...consoleCallers,
    ]),
  ].sort();
}

/** Services with their own database (and so an outbox and inbox on the bus), from the registry. */
export const statefulServices = servicesWithDatabase;
export type StatefulService = ServiceWithDatabase;

export function databaseName(service: ShippedService): string {
  const { document } = loadConfigDocument({
    argv: ['--config', `${repoRoot}config/prod.yaml`],
    env: {},
  });
  return String((document.services as Record<string, { database?: string }>)[service]?.database);
}

/** What a service in the cluster runs with: the embedded defaults under the ConfigMap's file. */
export function effectiveClusterConfig(
  file: Record<string, unknown> = clusterConfigDocument(),
): Record<string, unknown> {
  return loadConfigDocument({ argv: [], env: {}, overrides: file }).document;
}
