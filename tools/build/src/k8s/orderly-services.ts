import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IService } from 'kubernetes-models/v1/Service';
import type { ShippedService } from '../services.js';
import { statefulServices, trustedCallers } from './cluster-config.js';
import { labelsOf, selectorOf } from './labels.js';
import { containerResourcesOf } from './sizing.js';

/** Where the ConfigMaps are mounted: whole directories, so kubelet's atomic `..data` symlink swap reaches the files. */
export const configMountPath = '/etc/orderly/config';
export const configFileName = 'orderly.yaml';
export const flagsMountPath = '/etc/orderly/flags';
export const flagsFileName = 'flags.json';
export const configMapName = 'orderly-config';
export const flagsConfigMapName = 'orderly-flags';
/** Secrets the deployment reads (created by the dev overlay, or by the operator in production). */
export const databaseUrlsSecret = 'orderly-database-urls';
export const identitySecret = 'orderly-identity';
/** Workload identity (config/prod.yaml workloadIdentity.keysDir): the service's own key pair, one Secret per service… */
export const workloadKeySecret = (service: string) => `orderly-workload-identity-${service}`;
/** …and the public keys of every workload (services and the operator), of which each pod mounts its callers'. */
export const workloadPublicKeysSecret = 'orderly-workload-public-keys';
export const workloadKeysMountPath = '/etc/orderly/workload-identity';
/** The data directory of config/prod.yaml (notification's file sink); an emptyDir, as the root filesystem is read-only. */
const dataDir = '/var/lib/orderly';
/** Above platform.shutdown.graceMs (15 s), so a stopping pod finishes in-flight work before SIGKILL. */
const terminationGracePeriodSeconds = 30;

/** Hardening every container gets; checked for every container by test/deploy/manifests.test.ts. */
export const restrictedSecurityContext: ISecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

function environment(service: ShippedService): IEnvVar[] {
  const env: IEnvVar[] = [];
  if ((statefulServices as readonly string[]).includes(service)) {
    // The URL holds the service's own database role and password.
    env.push({
      name: 'ORDERLY_POSTGRES__URL',
      valueFrom: { secretKeyRef: { name: databaseUrlsSecret, key: service } },
    });
  }
  if (service === 'identity') {
    env.push(
      {
        name: 'ORDERLY_SERVICES__IDENTITY__KEY_ENCRYPTION_KEY',
        valueFrom: { secretKeyRef: { name: identitySecret, key: 'key-encryption-key' } },
      },
      {
        name: 'ORDERLY_SERVICES__IDENTITY__BOOTSTRAP_ADMIN__PASSWORD',
        valueFrom: {
          secretKeyRef: { name: identitySecret, key: 'bootstrap-admin-password', optional: true },
        },
      },
    );
  }
  return env;
}

function container(
  service: ShippedService,
  image: string,
  port: number,
  operatorPort: number,
): IContainer {
  const httpGet = (path: string) => ({ path, port: 'http' });
  return {
    name: service,
    image,
    args: ['--config', `${configMountPath}/${configFileName}`],
    // http: Connect RPC (the gateway: its public API) and the probes; operator: /metrics and /admin/*.
    ports: [
      { name: 'http', containerPort: port, protocol: 'TCP' },
      { name: 'operator', containerPort: operatorPort, protocol: 'TCP' },
    ],
    env: environment(service),
    // /healthz: the process answers (restart it if not); /readyz: database, bus and flags reachable.
    startupProbe: {
      httpGet: httpGet('/healthz'),
      periodSeconds: 2,
      failureThreshold: 30,
      timeoutSeconds: 2,
    },
    livenessProbe: {
      httpGet: httpGet('/healthz'),
      periodSeconds: 10,
      failureThreshold: 3,
      timeoutSeconds: 2,
    },
    // /readyz answers within health.readyzBudgetMs (1 s) whatever its checks do (a black-holed link
    // included), so the probe's timeout can stay short.
    readinessProbe: {
      httpGet: httpGet('/readyz'),
      periodSeconds: 5,
      failureThreshold: 2,
      timeoutSeconds: 3,
    },
    resources: containerResourcesOf(service),
    securityContext: restrictedSecurityContext,
    volumeMounts: [
      { name: 'config', mountPath: configMountPath, readOnly: true },
      { name: 'flags', mountPath: flagsMountPath, readOnly: true },
      { name: 'workload-identity', mountPath: workloadKeysMountPath, readOnly: true },
      { name: 'data', mountPath: dataDir },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}

/**
 * Replicas of every service in the base (production's request path raises gateway and order to 3).
 * Two at least: a service keeps running while one pod is drained, rolled or lost — the replicas
 * share the durable consumers, and relays claim with SKIP LOCKED (`npm run start:cluster` and
 * `npm run bench:scaling` run them that way on one machine).
 */
export const serviceReplicas = 2;

/**
 * Prefer nodes that hold no pod of the same service, so one node's loss takes one replica. Preferred,
 * not required: 3 gateway replicas on 2 nodes (or a one-node dev cluster) still schedule.
 */
export function spreadOverNodes(name: string): IAffinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: 'kubernetes.io/hostname',
            labelSelector: { matchLabels: selectorOf(name) },
          },
        },
      ],
    },
  };
}

export function orderlyService(
  service: ShippedService,
  image: string,
  port: number,
  operatorPort: number,
): [IDeployment, IService, IPodDisruptionBudget] {
  const labels = labelsOf(service, 'service');
  const deployment: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: service, labels },
    spec: {
      replicas: serviceReplicas,
      selector: { matchLabels: selectorOf(service) },
      // One new pod at a time, no old pod removed before a new one is ready.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      minReadySeconds: 5,
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          affinity: spreadOverNodes(service),
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selectorOf(service) },
            },
          ],
          containers: [container(service, image, port, operatorPort)],
          volumes: [
            { name: 'config', configMap: { name: configMapName } },
            { name: 'flags', configMap: { name: flagsConfigMapName } },
            {
              // The service's private key and its callers' public keys, in one read-only folder.
              name: 'workload-identity',
              projected: {
                defaultMode: 0o440,
                sources: [
                  {
                    secret: {
                      name: workloadKeySecret(service),
                      items: [{ key: `${service}.private.jwk`, path: `${service}.private.jwk` }],
                    },
                  },
                  {
                    secret: {
                      name: workloadPublicKeysSecret,
                      items: trustedCallers(service).map((caller) => ({
                        key: `${caller}.public.jwk`,
                        path: `${caller}.public.jwk`,
                      })),
                    },
                  },
                ],
              },
            },
            { name: 'data', emptyDir: { sizeLimit: '256Mi' } },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
  const serviceObject: IService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: service, labels },
    spec: {
      selector: selectorOf(service),
      ports: [
        { name: 'http', port, targetPort: 'http', protocol: 'TCP' },
        { name: 'operator', port: operatorPort, targetPort: 'operator', protocol: 'TCP' },
      ],
    },
  };
  const budget: IPodDisruptionBudget = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: service, labels },
    // A drain or an eviction never takes the last running replica (with 3, two may go at once).
    spec: { minAvailable: 1, selector: { matchLabels: selectorOf(service) } },
  };
  return [deployment, serviceObject, budget];
}
