import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import { labelsOf, selectorOf } from './labels.js';

/** A party to a connection: a workload of this namespace (by name), anything (the gateway's clients), or the monitoring namespace. */
export type Party =
  { readonly pod: string } | { readonly anywhere: true } | { readonly monitoring: true };

export interface Connection {
  readonly from: Party;
  readonly to: Party;
  readonly port: number;
}

/** Prometheus runs in the namespace with this name; it scrapes /metrics on every service port and NATS's monitor port. */
export const monitoringNamespace = 'monitoring';

function peer(party: Party): INetworkPolicyPeer[] {
  if ('pod' in party) return [{ podSelector: { matchLabels: selectorOf(party.pod) } }];
  if ('monitoring' in party)
    return [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': monitoringNamespace } },
      },
    ];
  return [];
}

/**
 * Default deny both ways, DNS for everyone, then one policy per workload allowing exactly the
 * connections it takes part in (its ingress rules as the callee, its egress rules as the caller).
 */
export function networkPolicies(connections: readonly Connection[]): INetworkPolicy[] {
  const policies: INetworkPolicy[] = [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', labels: labelsOf('default-deny', 'network') },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-dns', labels: labelsOf('allow-dns', 'network') },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              { namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
            ],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    },
  ];
  const workloads = [
    ...new Set(
      connections.flatMap((c) => [c.from, c.to]).flatMap((p) => ('pod' in p ? [p.pod] : [])),
    ),
  ].sort();
  for (const workload of workloads) {
    const incoming = connections.filter((c) => 'pod' in c.to && c.to.pod === workload);
    const outgoing = connections.filter((c) => 'pod' in c.from && c.from.pod === workload);
    const rule = (other: Party, port: number) => {
      const peers = peer(other);
      return {
        ...(peers.length > 0 ? { peers } : {}),
        ports: [{ protocol: 'TCP' as const, port }],
      };
    };
    const ingress = incoming
      .map((c) => rule(c.from, c.port))
      .map(({ peers, ports }) => ({ ...(peers ? { from: peers } : {}), ports }));
    const egress = outgoing
      .map((c) => rule(c.to, c.port))
      .map(({ peers, ports }) => ({ ...(peers ? { to: peers } : {}), ports }));
    policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `allow-${workload}`, labels: labelsOf(`allow-${workload}`, 'network') },
      spec: {
        podSelector: { matchLabels: selectorOf(workload) },
        policyTypes: ['Ingress', 'Egress'],
        ...(ingress.length > 0 ? { ingress } : {}),
        ...(egress.length > 0 ? { egress } : {}),
      },
    });
  }
  return policies;
}
