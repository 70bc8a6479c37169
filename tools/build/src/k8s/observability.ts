import { globSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../services.js';
import { labelsOf, partOf } from './labels.js';

/**
 * Observability for the Prometheus Operator and Grafana's dashboard sidecar, from the files the
 * local viewing path uses (deploy/observability): a ServiceMonitor that scrapes every Orderly
 * Service's port named `operator` (job="orderly", and the operator's `service` label is the Service's
 * name, as the rules expect), a PrometheusRule with the recording and alerting rules, and one
 * ConfigMap per Grafana dashboard, labelled `grafana_dashboard: "1"` (the sidecar's default).
 */
export const observabilityDir = join(repoRoot, 'deploy/observability');
/** The label Grafana's sidecar looks for (kube-prometheus-stack's `sidecar.dashboards.label`). */
export const dashboardLabel = 'grafana_dashboard';

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly Record<string, unknown>[];
}

/** The groups of every rule file in deploy/observability/prometheus/rules, in file order. */
export function ruleGroups(): RuleGroup[] {
  return globSync('prometheus/rules/*.yaml', { cwd: observabilityDir })
    .sort()
    .flatMap(
      (file) =>
        (parse(readFileSync(join(observabilityDir, file), 'utf8')) as { groups: RuleGroup[] })
          .groups,
    );
}

/** Dashboard name (file name without .json) → its JSON text. */
export function dashboards(): Map<string, string> {
  return new Map(
    globSync('grafana/dashboards/*.json', { cwd: observabilityDir })
      .sort()
      .map((file) => [basename(file, '.json'), readFileSync(join(observabilityDir, file), 'utf8')]),
  );
}

export function observabilityObjects(): object[] {
  const serviceMonitor = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: partOf, labels: labelsOf(partOf, 'monitoring') },
    spec: {
      // job="orderly" on every target: the value of this label on the Services.
      jobLabel: 'app.kubernetes.io/part-of',
      selector: {
        matchLabels: {
          'app.kubernetes.io/part-of': partOf,
          'app.kubernetes.io/component': 'service',
        },
      },
      endpoints: [{ port: 'operator', path: '/metrics', interval: '15s' }],
    },
  };
  const prometheusRule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: partOf, labels: labelsOf(partOf, 'monitoring') },
    spec: { groups: ruleGroups() },
  };
  const dashboardMaps = [...dashboards()].map(([name, json]) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `${name}-dashboard`,
      labels: { ...labelsOf(name, 'dashboard'), [dashboardLabel]: '1' },
    },
    data: { [`${name}.json`]: json },
  }));
  return [serviceMonitor, prometheusRule, ...dashboardMaps];
}
