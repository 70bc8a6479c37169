import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { prometheusNames, type InstrumentKind } from '@orderly/platform/testing';

/**
 * The metrics Orderly exports, read from the sources: every instrument the platform and the
 * services create (`meter.createCounter('orders.placed', …)`, `telemetry.durationHistogram(…)`),
 * under the Prometheus names the exporter gives it (`prometheusNames`, checked against the exporter
 * in platform/test/health-metrics.test.ts). A metric that exists only when an event happened (a
 * circuit that opened, a reload) is in it too, which a scrape of a quiet system would miss.
 */
const creators: Record<string, InstrumentKind> = {
  createCounter: 'counter',
  createObservableCounter: 'counter',
  createHistogram: 'histogram',
  durationHistogram: 'histogram',
  createGauge: 'gauge',
  createObservableGauge: 'gauge',
  createUpDownCounter: 'updowncounter',
  createObservableUpDownCounter: 'updowncounter',
};

export function exportedMetrics(repoRoot: string): Map<string, InstrumentKind> {
  const files = execFileSync('git', ['ls-files', '--', 'platform/src', 'services'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('/test/'));
  const metrics = new Map<string, InstrumentKind>();
  const pattern = new RegExp(`\\b(${Object.keys(creators).join('|')})\\(\\s*'([a-z0-9_.]+)'`, 'g');
  for (const file of files) {
    const text = readFileSync(`${repoRoot}${file}`, 'utf8');
    for (const [, creator, name] of text.matchAll(pattern)) {
      const kind = creators[creator!]!;
      for (const prometheusName of prometheusNames({ name: name!, kind }))
        metrics.set(prometheusName, kind);
    }
  }
  return metrics;
}

const keywords = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads (selectors), in order of appearance: strings, label
 * matchers, ranges, grouping clauses, functions and keywords are left out.
 */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' $1 ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const after = stripped.slice((match.index ?? 0) + name.length);
    const before = stripped.slice(0, match.index ?? 0);
    if (/^\s*(\(|(by|without)\b)/.test(after)) continue; // a function or an aggregation
    if (keywords.has(name.toLowerCase())) continue;
    if (/[0-9.]$/.test(before) || /\d(e|E)$/.test(before)) continue; // part of a number (1e3)
    if (!names.includes(name)) names.push(name);
  }
  return names;
}
