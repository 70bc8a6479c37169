import { spawnSync } from 'node:child_process';
import { globSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { exportedMetrics, promqlMetricNames } from './observability-catalog.js';

/**
 * Observability as code (deploy/observability): the Prometheus rules pass `promtool check rules` and
 * their unit tests (`promtool test rules`), the local Prometheus configuration passes `promtool check
 * config`, every alert has a test where it fires and one where it stays quiet, and every metric an
 * expression of the rules or the Grafana dashboards reads is one the services export (or a recording
 * rule). promtool comes from Debian's `prometheus` package (.ci/run installs it); without it these
 * tests fail, they never skip.
 */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const observability = join(repoRoot, 'deploy/observability');
const prometheusDir = join(observability, 'prometheus');
const ruleFiles = globSync('rules/*.yaml', { cwd: prometheusDir }).sort();
const ruleTestFiles = globSync('tests/*.yaml', { cwd: prometheusDir }).sort();
const dashboardFiles = globSync('grafana/dashboards/*.json', { cwd: observability }).sort();
const scratch = mkdtempSync(join(tmpdir(), 'orderly-observability-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function promtool(args: string[], cwd = prometheusDir): { status: number; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT')
    throw new Error(
      "promtool is not installed: it comes with Debian's prometheus package (apt-get install -y prometheus; .ci/run installs it). The rule tests cannot run without it.",
    );
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string; for?: string }[];
}
const groups = ruleFiles.flatMap(
  (file) =>
    (parse(readFileSync(join(prometheusDir, file), 'utf8')) as { groups: RuleGroup[] }).groups,
);
const rules = groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert);
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

describe('Prometheus rules', () => {
  test('when promtool checks the rule files, then they are valid', () => {
    const { status, output } = promtool(['check', 'rules', ...ruleFiles]);
    process.stdout.write(output);
    expect(status, output).toBe(0);
    expect(alerts.length).toBeGreaterThanOrEqual(12);
  });

  test('when promtool runs the rules unit tests, then every one passes', () => {
    const { status, output } = promtool(['test', 'rules', ...ruleTestFiles]);
    process.stdout.write(output);
    expect(status, output).toBe(0);
  });

  test('when a rules unit test expects what the rules do not do, then promtool fails it', () => {
    // A test that says a scrape target that stays down does not alert: the runner must reject it,
    // or the passing run above would prove nothing.
    const wrong = join(scratch, 'wrong.test.yaml');
    writeFileSync(
      wrong,
      JSON.stringify({
        rule_files: ruleFiles.map((f) => join(prometheusDir, f)),
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [{ series: 'up{job="orderly",service="order"}', values: '0+0x10' }],
            alert_rule_test: [{ eval_time: '10m', alertname: 'OrderlyTargetDown', exp_alerts: [] }],
          },
        ],
      }),
    );
    const { status, output } = promtool(['test', 'rules', wrong], scratch);
    expect(status, output).not.toBe(0);
    expect(output).toContain('OrderlyTargetDown');
  });

  test('when the unit tests are read, then every alert has a case where it fires and one where it stays quiet', () => {
    const cases = ruleTestFiles.flatMap(
      (file) =>
        (
          parse(readFileSync(join(prometheusDir, file), 'utf8')) as {
            tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
          }
        ).tests,
    );
    const checks = cases.flatMap((c) => c.alert_rule_test ?? []);
    const untested = alerts
      .map((a) => a.alert!)
      .filter(
        (name) =>
          !checks.some((c) => c.alertname === name && c.exp_alerts.length > 0) ||
          !checks.some((c) => c.alertname === name && c.exp_alerts.length === 0),
      );
    expect(untested).toEqual([]);
  });

  test('when promtool checks the local Prometheus configuration, then it is valid and loads the rules', () => {
    const { status, output } = promtool(['check', 'config', 'prometheus.yml']);
    process.stdout.write(output);
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${ruleFiles.length} rule files found`);
  });
});

describe('metric names', () => {
  const exported = exportedMetrics(repoRoot);
  const known = new Set([...exported.keys(), ...recorded, 'up', 'ALERTS', 'target_info']);

  test('when the sources are read, then the instruments the rules rely on are found with their kinds', () => {
    expect(exported.get('orders_saga_duration_bucket')).toBe('histogram');
    expect(exported.get('orderly_consumer_dead_letters_total')).toBe('counter');
    expect(exported.get('orderly_outbox_backlog')).toBe('gauge');
    expect(exported.get('orderly_readiness')).toBe('gauge');
  });

  test('when the rules are read, then every metric they use is exported or recorded', () => {
    const unknown = rules.flatMap((rule) =>
      promqlMetricNames(rule.expr)
        .filter((name) => !known.has(name))
        .map((name) => `${rule.alert ?? rule.record}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  test('when the dashboards are read, then every panel queries only exported metrics and recording rules', () => {
    const unknown: string[] = [];
    let expressions = 0;
    for (const file of dashboardFiles) {
      const dashboard = JSON.parse(readFileSync(join(observability, file), 'utf8')) as {
        uid: string;
        panels: {
          id: number;
          title: string;
          datasource: { uid: string };
          targets?: { expr: string }[];
        }[];
      };
      expect(dashboard.uid, file).toMatch(/^orderly-/);
      const ids = dashboard.panels.map((p) => p.id);
      expect(new Set(ids).size, `${file}: panel ids are unique`).toBe(ids.length);
      for (const panel of dashboard.panels) {
        expect(panel.datasource.uid, `${file}: ${panel.title}`).toBe('${datasource}');
        expect(panel.targets?.length, `${file}: ${panel.title} has queries`).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          expressions++;
          for (const name of promqlMetricNames(target.expr))
            if (!known.has(name)) unknown.push(`${file}: ${panel.title}: ${name}`);
        }
      }
    }
    expect(dashboardFiles.length).toBeGreaterThanOrEqual(3);
    expect(expressions).toBeGreaterThan(30);
    expect(unknown).toEqual([]);
  });

  test('when an expression names a metric nobody exports, then the check names it', () => {
    const names = promqlMetricNames(
      'sum by (service, le) (rate(orders_saga_duratoin_bucket{job="orderly", le!="+Inf"}[5m])) / on (service) group_left orderly:orders_placed:rate5m > 0.5 and ALERTS offset 5m',
    );
    expect(names).toEqual([
      'orders_saga_duratoin_bucket',
      'orderly:orders_placed:rate5m',
      'ALERTS',
    ]);
    expect(names.filter((n) => !known.has(n))).toEqual(['orders_saga_duratoin_bucket']);
  });
});
