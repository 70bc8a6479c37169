import type { ShippedService } from '../services.js';

/**
 * Requests and limits per service container, sized from the benchmark
 * (bench/results/2026-11-28-06-36-3e3124e7-quick.md, POST /v1/orders at 500/s offered, 2 cores):
 * peak RSS identity 279 MB, inventory 239, notification 181, order 310, payment 197, gateway 390;
 * CPU gateway 38 % of a core, order 34 %, inventory 24 %, payment 9 %, notification 8 %, identity 1 %
 * (logins are scrypt: identity's limit allows bursts). Requests ≈ CPU under that load and the RSS
 * seen; memory limits ≈ peak RSS + ~40 % (V8 grows its heap up to what it is allowed). identity's
 * limit adds 256 Mi for its scrypt hashes (2 at once, `password.maxConcurrentHashes`, 128 MiB each at
 * N = 2^17, r = 8; measured: 4 at once raised a process's peak RSS by 512 MB).
 */
type ContainerResources = { requests: Record<string, string>; limits: Record<string, string> };

export const containerResources: Partial<Record<ShippedService, ContainerResources>> = {
  gateway: { requests: { cpu: '400m', memory: '384Mi' }, limits: { cpu: '1', memory: '544Mi' } },
  order: { requests: { cpu: '350m', memory: '320Mi' }, limits: { cpu: '1', memory: '448Mi' } },
  inventory: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '352Mi' } },
  payment: { requests: { cpu: '100m', memory: '208Mi' }, limits: { cpu: '500m', memory: '288Mi' } },
  notification: {
    requests: { cpu: '100m', memory: '192Mi' },
    limits: { cpu: '500m', memory: '256Mi' },
  },
  identity: { requests: { cpu: '100m', memory: '288Mi' }, limits: { cpu: '1', memory: '656Mi' } },
};

/**
 * A service added since the last sizing run (registry line, no measurement yet) starts with a modest
 * request and a generous limit, so it schedules and runs; add its measured line above after a bench run.
 */
export const unmeasuredServiceResources: ContainerResources = {
  requests: { cpu: '100m', memory: '192Mi' },
  limits: { cpu: '1', memory: '512Mi' },
};

export function containerResourcesOf(service: ShippedService): ContainerResources {
  return containerResources[service] ?? unmeasuredServiceResources;
}

/** NATS (3 replicas) and PostgreSQL: sized for this system's event rate, not measured by the bench. */
export const infrastructureResources = {
  nats: { requests: { cpu: '200m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
  postgres: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } },
  job: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
};
