import { createHash, createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deepMerge } from '@orderly/platform';
import { stringify } from 'yaml';
import { imageTag, type BuildMetadata } from '../build-metadata.js';
import { repoRoot, shippedServices } from '../services.js';
import {
  clusterConfigDocument,
  databaseName,
  effectiveClusterConfig,
  natsClientPort,
  natsServiceName,
  postgresPort,
  postgresServiceName,
  serviceOperatorPorts,
  servicePorts,
  statefulServices,
  trustedCallers,
} from './cluster-config.js';
import { labelsOf } from './labels.js';
import { monitoringNamespace, networkPolicies, type Connection } from './network-policies.js';
import { observabilityObjects } from './observability.js';
import {
  natsMonitorPort,
  natsClusterPort,
  natsObjects,
  natsOnSeparateNodes,
  postgresObjects,
  postgresSecret,
  streamsJob,
} from './infrastructure.js';
import {
  configFileName,
  configMapName,
  databaseUrlsSecret,
  flagsConfigMapName,
  flagsFileName,
  identitySecret,
  orderlyService,
  workloadKeySecret,
  workloadPublicKeysSecret,
} from './orderly-services.js';

export const namespace = 'orderly';

/**
 * The connections the architecture has, and no others: the gateway's clients reach the gateway;
 * a service's RPC port is reached by the pods of the services its rpcCallers allow (today the
 * gateway calls order, inventory and identity); the console's callers (the gateway) reach the other
 * services' operator ports; every service with a database reaches PostgreSQL
 * and NATS; NATS servers route to each other; the stream job reaches NATS; Prometheus in the
 * monitoring namespace scrapes every service's operator port (never its RPC port) and NATS.
 */
export function architectureConnections(): Connection[] {
  const ports = servicePorts();
  const operatorPorts = serviceOperatorPorts();
  const allowlists = effectiveClusterConfig().services as Record<
    string,
    { rpcCallers?: Record<string, string[]> }
  >;
  const pod = (name: string) => ({ pod: name });
  const connections: Connection[] = [
    { from: { anywhere: true }, to: pod('gateway'), port: ports.gateway },
  ];
  for (const callee of shippedServices) {
    const callers = new Set(Object.values(allowlists[callee]?.rpcCallers ?? {}).flat());
    // Only callers that run as pods: the operator reaches services through kubectl port-forward.
    for (const caller of shippedServices.filter((s) => callers.has(s)))
      connections.push({ from: pod(caller), to: pod(callee), port: ports[callee] });
  }
  for (const service of statefulServices) {
    connections.push({ from: pod(service), to: pod(postgresServiceName), port: postgresPort });
    connections.push({ from: pod(service), to: pod(natsServiceName), port: natsClientPort });
  }
  // The gateway's rate-limit buckets live in a JetStream key-value bucket its replicas share.
  connections.push({ from: pod('gateway'), to: pod(natsServiceName), port: natsClientPort });
  connections.push({ from: pod('nats-streams'), to: pod(natsServiceName), port: natsClientPort });
  connections.push({ from: pod(natsServiceName), to: pod(natsServiceName), port: natsClusterPort });
  for (const service of shippedServices)
    connections.push({
      from: { monitoring: true },
      to: pod(service),
      port: operatorPorts[service],
    });
  // The operator console's routes (the gateway's) read the other services' operator ports.
  const { consoleCallers } = effectiveClusterConfig().workloadIdentity as {
    consoleCallers: string[];
  };
  for (const caller of shippedServices.filter((s) => consoleCallers.includes(s)))
    for (const service of shippedServices.filter((s) => s !== caller))
      connections.push({ from: pod(caller), to: pod(service), port: operatorPorts[service] });
  connections.push({ from: { monitoring: true }, to: pod(natsServiceName), port: natsMonitorPort });
  return connections;
}

function yamlDocuments(objects: readonly object[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

/**
 * Settings of the dev overlay (kind/k3d): debug logs, the demo catalog. It keeps the base's replicas
 * (two per service, three NATS servers), so a laptop cluster runs what production runs: competing
 * consumers, relays sharing the outbox, a PodDisruptionBudget a drain can honour.
 */
const devConfig = { logLevel: 'debug', services: { inventory: { seedDemoCatalog: true } } };

/**
 * The kustomize tree (base + overlays/dev + overlays/prod) as files: path → content. Real kustomize
 * renders it (`kubectl apply -k dist/k8s/overlays/dev`); so does the offline renderer the tests use.
 */
export function kustomizeTree(build: BuildMetadata): Map<string, string> {
  const files = new Map<string, string>();
  const ports = servicePorts();
  const document = clusterConfigDocument(ports);
  const bus = effectiveClusterConfig(document).bus as {
    stream: string;
    subjectPrefix: string;
    deadLetterStream: string;
    deadLetterSubjectPrefix: string;
    duplicateWindowMs: number;
    streamReplicas: number;
  };

  files.set(
    'base/namespace.yaml',
    yamlDocuments([
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, labels: labelsOf(namespace, 'namespace') },
      },
    ]),
  );
  files.set(
    'base/services.yaml',
    yamlDocuments(
      shippedServices.flatMap((s) =>
        orderlyService(s, imageTag(s, build), ports[s], serviceOperatorPorts()[s]),
      ),
    ),
  );
  files.set(
    'base/nats.yaml',
    yamlDocuments([
      ...natsObjects(),
      streamsJob([
        {
          name: bus.stream,
          subjects: `${bus.subjectPrefix}.>`,
          duplicateWindowMs: bus.duplicateWindowMs,
          replicas: bus.streamReplicas,
        },
        {
          name: bus.deadLetterStream,
          subjects: `${bus.deadLetterSubjectPrefix}.>`,
          duplicateWindowMs: bus.duplicateWindowMs,
          replicas: bus.streamReplicas,
        },
      ]),
    ]),
  );
  files.set('base/postgres.yaml', yamlDocuments(postgresObjects()));
  files.set('base/observability.yaml', yamlDocuments(observabilityObjects()));
  files.set(
    'base/network-policies.yaml',
    yamlDocuments(networkPolicies(architectureConnections())),
  );
  files.set(
    `base/${configFileName}`,
    `# Generated by npm run build:manifests from config/prod.yaml and the in-cluster addresses.\n${stringify(document)}`,
  );
  files.set(`base/${flagsFileName}`, readFileSync(`${repoRoot}flags/flags.json`, 'utf8'));
  files.set(
    'base/kustomization.yaml',
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace,
      resources: [
        'namespace.yaml',
        'services.yaml',
        'nats.yaml',
        'postgres.yaml',
        'network-policies.yaml',
        'observability.yaml',
      ],
      // No hash suffix: an edited ConfigMap is updated in place, and kubelet's symlink swap reaches
      // the running pods, which reload the reloadable keys and the flags without a restart.
      generatorOptions: { disableNameSuffixHash: true },
      configMapGenerator: [
        { name: configMapName, files: [configFileName] },
        { name: flagsConfigMapName, files: [flagsFileName] },
      ],
    }),
  );

  const replicas = (count: number, names: readonly string[]) =>
    names.map((name) => ({
      target: { kind: 'Deployment', name },
      patch: stringify([{ op: 'replace', path: '/spec/replicas', value: count }]),
    }));
  files.set(
    `overlays/dev/${configFileName}`,
    `# Dev overlay: the base configuration with debug logs and the demo catalog.\n${stringify(deepMerge(document, devConfig))}`,
  );
  files.set(
    'overlays/dev/kustomization.yaml',
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      // Again here: objects an overlay generates (its Secrets) get no namespace from the base.
      namespace,
      resources: ['../../base'],
      generatorOptions: { disableNameSuffixHash: true },
      configMapGenerator: [{ name: configMapName, behavior: 'replace', files: [configFileName] }],
      // Development secrets only (a kind/k3d cluster on a laptop); production creates its own (docs/deploy.md).
      secretGenerator: devSecrets(),
    }),
  );
  files.set(
    'overlays/prod/kustomization.yaml',
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      // Again here: objects an overlay generates (its Secrets) get no namespace from the base.
      namespace,
      resources: ['../../base'],
      // The request path: more replicas at the front; Secrets orderly-postgres, orderly-database-urls
      // and orderly-identity are created by the operator (docs/deploy.md), never kept in the repository.
      patches: [
        ...replicas(3, ['gateway', 'order']),
        {
          target: { kind: 'StatefulSet', name: natsServiceName },
          patch: stringify([
            { op: 'replace', path: '/spec/template/spec/affinity', value: natsOnSeparateNodes() },
          ]),
        },
      ],
    }),
  );
  return files;
}

/** Secrets the dev overlay generates; the same names and keys production must provide. */
export function devSecrets(): { name: string; literals: string[] }[] {
  const password = (service: string) => `dev-${service}-password`;
  return [
    {
      name: postgresSecret,
      literals: [
        'superuser-password=dev-superuser-password',
        ...statefulServices.map((s) => `${s}-password=${password(s)}`),
      ],
    },
    {
      name: databaseUrlsSecret,
      literals: statefulServices.map(
        (s) =>
          `${s}=postgres://${databaseName(s)}:${password(s)}@${postgresServiceName}:${postgresPort}/postgres`,
      ),
    },
    {
      name: identitySecret,
      // Dev only: a fixed, public key (production: openssl rand -base64 32).
      literals: [
        'key-encryption-key=zqT5BQhfVjtvw7wSgyvinOdXnFWAdnlPtvanIoCLJd4=',
        'bootstrap-admin-password=dev-admin-password',
      ],
    },
    // Workload identity: each service's key pair, and every workload's public key (the operator's too).
    ...shippedServices.map((s) => ({
      name: workloadKeySecret(s),
      literals: [`${s}.private.jwk=${JSON.stringify(devOverlayWorkloadKey(s).privateJwk)}`],
    })),
    {
      name: workloadPublicKeysSecret,
      // The public keys some pod trusts (its callers'): today the gateway's and the operator's.
      literals: [...new Set(shippedServices.flatMap((s) => trustedCallers(s)))]
        .sort()
        .map((w) => `${w}.public.jwk=${JSON.stringify(devOverlayWorkloadKey(w).publicJwk)}`),
    },
  ];
}

/**
 * Dev overlay only: an Ed25519 key pair derived from a public seed, so the generated tree is the same
 * on every build. Like the key-encryption key above, anyone can derive it: production creates its
 * own (docs/security.md).
 */
export function devOverlayWorkloadKey(name: string): {
  privateJwk: Record<string, unknown>;
  publicJwk: Record<string, unknown>;
} {
  const seed = createHash('sha256').update(`orderly-k8s-dev-overlay:${name}`).digest();
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
    format: 'jwk',
  });
  const common = { kid: `k8s-dev-overlay:${name}`, alg: 'EdDSA', use: 'sig' };
  return {
    privateJwk: { ...jwk, ...common },
    publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...common },
  };
}

export function writeTree(files: ReadonlyMap<string, string>, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

export { monitoringNamespace };
