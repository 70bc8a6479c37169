import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { K8sObject } from '@orderly/build/k8s/render';

/**
 * Evaluates NetworkPolicies the way the API defines them, independently of how they were generated:
 * a connection is allowed when the caller's egress allows it (no policy selecting the caller for
 * Egress = allowed) and the callee's ingress allows it (likewise), each a union of rules.
 */
export interface PodTemplateObject extends K8sObject {
  spec: Record<string, unknown>;
}

interface PodSpec {
  containers: IContainer[];
  volumes?: IVolume[];
  automountServiceAccountToken?: boolean;
}

export function podTemplateOf(workload: PodTemplateObject): {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
} {
  return workload.spec.template as { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

interface Party {
  readonly name: string;
  readonly namespace: string;
  readonly namespaceLabels: Record<string, string>;
  readonly labels: Record<string, string>;
  readonly ports: readonly number[];
}

interface Selector {
  matchLabels?: Record<string, string>;
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { port?: number; protocol?: string }[];
}
interface Policy {
  metadata: { namespace?: string };
  spec: { podSelector: Selector; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] };
}

const matches = (selector: Selector | undefined, labels: Record<string, string>) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

function peerMatches(peer: Peer, other: Party, policyNamespace: string): boolean {
  if (peer.namespaceSelector) {
    return (
      matches(peer.namespaceSelector, other.namespaceLabels) &&
      (!peer.podSelector || matches(peer.podSelector, other.labels))
    );
  }
  return other.namespace === policyNamespace && matches(peer.podSelector, other.labels);
}

function ruleAllows(
  rule: Rule,
  peers: Peer[] | undefined,
  other: Party,
  port: number,
  namespace: string,
): boolean {
  const portOk =
    !rule.ports ||
    rule.ports.some(
      (p) => p.port === undefined || (p.port === port && (p.protocol ?? 'TCP') === 'TCP'),
    );
  const peerOk =
    !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, other, namespace));
  return portOk && peerOk;
}

function allowed(
  policies: Policy[],
  self: Party,
  other: Party,
  port: number,
  direction: 'Ingress' | 'Egress',
): boolean {
  const namespace = self.namespace;
  const selecting = policies.filter(
    (p) =>
      (p.metadata.namespace ?? namespace) === namespace &&
      p.spec.policyTypes.includes(direction) &&
      matches(p.spec.podSelector, self.labels),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (direction === 'Ingress' ? (p.spec.ingress ?? []) : (p.spec.egress ?? [])).some((rule) =>
      ruleAllows(rule, direction === 'Ingress' ? rule.from : rule.to, other, port, namespace),
    ),
  );
}

/** Every allowed `caller -> callee:port` among the workloads, a client outside, Prometheus, and the internet. */
export function allowedConnections(objects: K8sObject[]): string[] {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as unknown as Policy[];
  const namespace = objects.find((o) => o.kind === 'Namespace')?.metadata.name ?? 'default';
  const nsLabels = { 'kubernetes.io/metadata.name': namespace };
  const pods: Party[] = objects
    .filter((o): o is PodTemplateObject => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))
    .map((workload) => {
      const template = podTemplateOf(workload);
      const ports = template.spec.containers.flatMap((c) =>
        (c.ports ?? []).map((p) => p.containerPort),
      );
      return {
        name: template.metadata.labels['app.kubernetes.io/name'] ?? workload.metadata.name,
        namespace,
        namespaceLabels: nsLabels,
        labels: template.metadata.labels,
        ports,
      };
    });
  const outside: Party = {
    name: 'outside',
    namespace: 'ingress',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress' },
    labels: {},
    ports: [],
  };
  const monitoring: Party = {
    name: 'monitoring',
    namespace: 'monitoring',
    namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
    labels: {},
    ports: [],
  };
  const internet: Party = {
    name: 'internet',
    namespace: '',
    namespaceLabels: {},
    labels: {},
    ports: [443],
  };
  const result = new Set<string>();
  for (const caller of [...pods, outside, monitoring]) {
    for (const callee of [...pods, internet]) {
      if (caller.namespace !== namespace && callee.namespace !== namespace) continue; // not ours to allow or deny
      for (const port of callee.ports) {
        const egressOk =
          caller.namespace !== namespace || allowed(policies, caller, callee, port, 'Egress');
        const ingressOk =
          callee.namespace !== namespace || allowed(policies, callee, caller, port, 'Ingress');
        if (egressOk && ingressOk) result.add(`${caller.name} -> ${callee.name}:${port}`);
      }
    }
  }
  return [...result];
}
