import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DrillReport } from './run-drill.js';

/** The drill's report as Markdown (for people and the repository) and JSON (for tools). */
export function renderMarkdown(r: DrillReport): string {
  const ms = (v: number | undefined) =>
    v === undefined ? '—' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`;
  const lines: string[] = [];
  lines.push(`# Chaos drill \`${r.drill}\` — ${headline(r)}`);
  lines.push('', r.description, '');
  lines.push(
    `Run ${r.startedAt} → ${r.finishedAt} on ${r.machine.cpus} CPUs, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}.`,
    '',
  );
  lines.push(
    `Commit \`${r.commit.sha}\`${r.commit.dirty ? ' **with uncommitted changes** (the run is not reproducible from the commit alone)' : r.commit.dirty === undefined ? ' (working tree state unknown)' : ', clean working tree'}.`,
    '',
  );
  if (r.warnings.length > 0) lines.push('## Warnings', '', ...r.warnings.map((w) => `- ${w}`), '');
  lines.push('## Summary', '');
  lines.push('| figure | value |', '|---|---|');
  lines.push(
    `| orders offered / accepted (202) | ${r.load.offered} / **${r.load.accepted}** (${r.load.ratePerSecond}/s for ${r.load.durationSeconds} s, bursts included) |`,
  );
  lines.push(
    `| requests retried with the same idempotency key | ${r.load.retries} (of ${r.load.attempts} attempts) |`,
  );
  lines.push(
    `| refused (4xx) / in doubt (gave up) / shed by the client | ${r.load.refused} / ${r.load.inDoubt} / ${r.load.shed} |`,
  );
  lines.push(
    `| answers by status | ${Object.entries(r.load.byStatus)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')} |`,
  );
  lines.push(
    `| outcome | ${r.outcome.orders} orders: ${r.outcome.confirmed} confirmed, ${
      Object.entries(r.outcome.cancelled)
        .map(([k, v]) => `${v} cancelled ${k}`)
        .join(', ') || 'none cancelled'
    }, ${r.outcome.open} open |`,
  );
  lines.push(
    `| faults injected | ${r.faults.length}: ${Object.entries(r.faultCounts)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ')} |`,
  );
  lines.push(
    `| **time to heal** (last fault healed → every invariant holds) | **${ms(r.heal.healedAfterMs)}** (bound ${r.heal.boundSeconds} s; last fault healed at ${r.heal.lastFaultHealedAtSeconds} s, load ended at ${r.heal.loadEndedAtSeconds} s) |`,
  );
  lines.push(
    `| dead letters | ${r.deadLetters.total} (${r.deadLetters.injectedPoison} poison messages injected) |`,
  );
  lines.push(
    `| process exits the drill did not cause (the supervisor restarts them) | ${r.unexpectedExits.length === 0 ? 'none' : r.unexpectedExits.map((e) => `${e.service} at ${e.atSeconds} s (code ${e.code ?? e.signal})`).join(', ')} |`,
  );
  lines.push(
    `| graceful stop at the end (SIGTERM exit codes) | ${Object.entries(r.finalExitCodes)
      .map(([s, c]) => `${s} ${c}`)
      .join(', ')} |`,
  );
  lines.push('', '## Invariants', '');
  lines.push('| invariant | meaning | violations |', '|---|---|---|');
  for (const i of r.invariants) {
    const outcome = i.checked
      ? i.violations === 0
        ? '0'
        : `**${i.violations}**: ${i.examples.join('; ')}`
      : i.waived !== undefined
        ? `waived: ${i.waived}`
        : '**not checked (fails the drill)**';
    lines.push(`| \`${i.name}\` | ${i.description} | ${outcome} |`);
  }
  lines.push('', '## Faults', '');
  lines.push(
    '| # | at (s) | fault | target | took | ready again after restart | readiness during a cut | detail |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const f of r.faults) {
    const readiness = f.readiness
      ? `false after ${ms(f.readiness.falseAfterMs)}, true ${ms(f.readiness.trueAgainAfterMs)} after heal`
      : '';
    lines.push(
      `| ${f.index} | ${f.atSeconds} | ${f.fault} | ${f.target} | ${ms(f.durationMs)} | ${ms(f.recoveryMs)} | ${readiness} | ${f.error ? `ERROR ${f.error}` : (f.detail ?? '')} |`,
    );
  }
  if (r.clients) lines.push(...clientSection(r));
  if (r.clients?.byPhase) lines.push(...phaseSection(r));
  if (r.durability) {
    const d = r.durability;
    lines.push('', '## Acknowledged publishes after the faults', '');
    lines.push(
      `Every outbox row a relay marked published (only after JetStream acknowledged it) was looked up in the events stream (R${d.streamReplicas}) once the faults had healed: **${d.published} published, ${d.missing} missing**${d.missing > 0 ? ` (${d.missingExamples.join(', ')})` : ''}; ${d.storedTwice} event ids stored twice (a row published again after the duplicate window by a second relay or a restarted one — applied once by the inboxes); ${d.streamMessages} messages in the stream.`,
    );
  }
  if (r.refusals.length > 0)
    lines.push('', '## Refusals (first ones)', '', ...r.refusals.map((x) => `- ${x}`));
  return `${lines.join('\n')}\n`;
}

/**
 * `PASSED`, `PASSED with warnings: 1 fault not injected, 3 unexpected exits`, or `FAILED: …`: a
 * pass never hides what weakened it.
 */
export function headline(r: DrillReport): string {
  if (!r.ok) {
    const unchecked = r.invariants.filter((i) => !i.passed && !i.checked).length;
    const stops = Object.values(r.finalExitCodes).filter((c) => c !== 0).length;
    const unmet = r.faults.filter((f) => f.expectation && !f.expectation.met).length;
    const why = [
      r.violations > 0 ? `${r.violations} invariant violation(s)` : '',
      unmet > 0 ? `${unmet} client expectation(s) not met` : '',
      unchecked > 0 ? `${unchecked} invariant(s) not checked` : '',
      stops > 0 ? `${stops} service(s) did not stop gracefully` : '',
    ].filter(Boolean);
    return `FAILED: ${why.join(', ') || 'see below'}`;
  }
  if (r.warnings.length === 0) return 'PASSED: zero invariant violations';
  return `PASSED with warnings: ${r.warnings.map((w) => w.replace(/ \(.*$/, '')).join(', ')}`;
}

export function writeReport(r: DrillReport, outPrefix: string): { markdown: string; json: string } {
  mkdirSync(dirname(outPrefix), { recursive: true });
  const markdown = `${outPrefix}.md`;
  const json = `${outPrefix}.json`;
  writeFileSync(markdown, renderMarkdown(r));
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  return { markdown, json };
}

/** What the drill's clients saw during each fault, and outside every fault (client-view.ts). */
function clientSection(r: DrillReport): string[] {
  const view = r.clients!;
  const ms = (p: { p50: number; p99: number; max: number } | undefined) =>
    p ? `${p.p50} / ${p.p99} / ${p.max}` : '—';
  const failures = (f: Record<string, number>) =>
    Object.entries(f)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || 'none';
  const row = (label: string, w: typeof view.baseline) =>
    `| ${label} | ${w.fromSeconds}–${w.toSeconds} | ${w.requests} | ${w.accepted} | ${w.inDoubt} | ${w.retries} | ${failures(w.failedAttempts)} | ${ms(w.latencyMs)} | ${ms(w.sagaMs)} |`;
  const lines = [
    '',
    '## What the clients saw',
    '',
    "Requests started in each fault's window (its start until 5 s after it healed): accepted, given up, retries (same idempotency key), attempts that failed by status, request latency from first attempt to definite answer (ms, p50 / p99 / max), and placement to CONFIRMED/CANCELLED of their orders (ms).",
    '',
    '| window | seconds | requests | accepted | in doubt | retries | failed attempts | latency p50/p99/max | order done p50/p99/max |',
    '|---|---|---|---|---|---|---|---|---|',
    row('outside every fault window', view.baseline),
  ];
  for (const w of view.byFault) {
    const f = r.faults.find((x) => x.index === w.index);
    lines.push(row(`#${w.index} ${f ? `${f.fault} ${f.target}` : ''}`, w));
  }
  return lines;
}

/** Rollout drills: each phase (one change to the next) by client version, and what each expectation got. */
function phaseSection(r: DrillReport): string[] {
  const phases = r.clients?.byPhase ?? [];
  const counts = (c: Readonly<Record<string, number | string>>) =>
    Object.entries(c)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || '—';
  const ms = (p: { p50: number; p99: number; max: number } | undefined) =>
    p ? `${p.p50} / ${p.p99} / ${p.max}` : '—';
  const label = (version: string) => (version === 'none' ? 'unversioned' : `v${version}`);
  const lines = [
    '',
    '## The rollout, step by step',
    '',
    'Each phase runs from one change (flag, configuration, client mix) to the next. Per client version: requests started in the phase, accepted, the final answer of each (status and code), the version the answers said they were served in (X-Contract-Version), and request latency from first attempt to definite answer (ms, p50 / p99 / max). Retries with the same idempotency key are part of one request.',
    '',
    '| from (s) | change | client version | requests | accepted | final answers | served as | latency p50/p99/max | failed attempts (all versions) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const phase of phases) {
    const opener =
      phase.index === undefined ? undefined : r.faults.find((f) => f.index === phase.index);
    const change = opener
      ? `#${opener.index} ${opener.fault} ${opener.detail ?? opener.target}`
      : 'start';
    const versions = Object.entries(phase.byVersion);
    if (versions.length === 0) {
      lines.push(
        `| ${phase.fromSeconds} | ${change} | — | 0 | 0 | — | — | — | ${counts(phase.failedAttempts)} |`,
      );
      continue;
    }
    versions.forEach(([version, v], i) => {
      lines.push(
        `| ${i === 0 ? phase.fromSeconds : ''} | ${i === 0 ? change : ''} | ${label(version)} | ${v.requests} | ${v.accepted} | ${counts(v.answers)} | ${counts(v.servedAs)} | ${ms(v.latencyMs)} | ${i === 0 ? counts(phase.failedAttempts) : ''} |`,
      );
    });
  }
  const expectations = r.faults.filter((f) => f.expectation);
  if (expectations.length > 0) {
    lines.push(
      '',
      '### What the probing clients got',
      '',
      '| # | at (s) | clients | expected | met | after | answers | message | headers |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const f of expectations) {
      const e = f.expectation!;
      lines.push(
        `| ${f.index} | ${f.atSeconds} | ${f.target} | ${e.expected} | ${e.met ? 'yes' : `**no**: ${e.misses.join('; ')}`} | ${e.afterMs} ms (${e.tries} tr${e.tries === 1 ? 'y' : 'ies'}) | ${e.answers.join(', ')} | ${e.message ?? ''} | ${counts(e.headers)} |`,
      );
    }
  }
  return lines;
}
