import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BenchReport, HttpFigures, SagaFigures } from '../report-types.js';
import type { PhaseResources } from '../resources.js';
import { groupedBars, horizontalBars, lines } from './svg.js';

/** Writes <date>-<commit>.json, .md and the SVG charts the Markdown links to. */
const n = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || Number.isNaN(v)
    ? 'n/a'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits });
const x = (a: number | undefined, b: number | undefined) =>
  a && b ? `${(a / b).toFixed(2)}×` : 'n/a';

function fileBase(report: BenchReport): string {
  const date = report.meta.startedAt.slice(0, 16).replace(/[:T]/g, '-');
  return `${date}-${report.meta.commit.slice(0, 8)}${report.meta.dirty ? '-dirty' : ''}${report.meta.profile === 'full' ? '' : `-${report.meta.profile}`}`;
}

function nonAccepted(h: HttpFigures): string {
  const ok = h.name.includes('node:http') ? '200' : '202';
  const parts = Object.entries(h.statuses)
    .filter(([s]) => s !== ok)
    .map(([s, c]) => `${c}×${s}`);
  parts.push(...Object.entries(h.errors).map(([e, c]) => `${c}× ${e}`));
  return parts.length > 0 ? parts.join(', ') : '0';
}

function httpRow(h: HttpFigures): string {
  const load = h.mode === 'open' ? `${n(h.offeredRate)}/s offered` : `${h.connections} conns`;
  const l = h.latencyMs;
  return `| ${h.name} | ${load} | **${n(h.acceptedPerSecond)}** | ${n(l.p50, 1)} | ${n(l.p90, 1)} | ${n(l.p99, 1)} | ${n(l.p999, 1)} | ${n(l.max, 1)} | ${nonAccepted(h)} | ${n(h.serverCpuUsPerRequest)} | ${h.loadGenerator.percentOfCore} % (${h.loadGenerator.percentOfMachineBusy} % of busy) |`;
}

function sagaRow(
  name: string,
  s: SagaFigures,
  drain?: { drained: boolean; seconds: number },
): string {
  const cancelled =
    Object.entries(s.cancelled)
      .map(([r, c]) => `${c} ${r}`)
      .join(', ') || '0';
  const c = s.toConfirmedMs;
  return `| ${name} | ${n(s.placed)} | ${n(s.completed)} | ${cancelled} | ${s.open} | ${n(c.p50, 1)} | ${n(c.p99, 1)} | ${n(c.p999, 1)} | ${n(c.max, 1)} | ${n(s.toNotifiedMs.p99, 1)} | ${drain ? `${drain.drained ? '' : 'NOT drained after '}${drain.seconds} s` : ''} |`;
}

function resourcesSection(title: string, r: PhaseResources): string {
  const rows = r.processes.map((p) => {
    const gc = p.gc
      ? `${n(p.gc.totalMs)} ms / ${p.gc.count} (${Object.entries(p.gc.byKind)
          .filter(([, v]) => v.count > 0)
          .map(([k, v]) => `${k} ${n(v.totalMs)}`)
          .join(', ')})`
      : 'n/a';
    const eld = p.eventLoopDelayMs
      ? `${p.eventLoopDelayMs.p50} / ${p.eventLoopDelayMs.p99} / ${p.eventLoopDelayMs.max}`
      : 'n/a';
    return `| ${p.label} | ${p.cpuSeconds} | ${p.cpuPercentOfCore} % | ${n(p.peakRssMB)} | ${n(p.maxSampledRssMB)} | ${gc} | ${p.gc ? p.gc.maxMs : 'n/a'} | ${eld} |`;
  });
  const groups = Object.entries(r.groups)
    .map(([g, v]) => `${g} ${v} s`)
    .join(' · ');
  const others =
    r.topOthers.map((o) => `\`${o.name.replace(/\|/g, '/')}\` ${o.cpuSeconds} s`).join(' · ') ||
    'nothing';
  return [
    `#### ${title}`,
    '',
    `Window ${r.wallSeconds} s; machine busy **${r.machineBusyPercent} %** of ${r.cores} cores. CPU by group: ${groups}.`,
    `Busiest other processes: ${others}.`,
    '',
    '| process | CPU s | CPU (100 % = one core) | peak RSS MB (VmHWM) | max sampled RSS MB | GC pause total / count (by kind, ms) | largest GC pause ms (since start) | event-loop delay p50 / p99 / max ms |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

export function writeReport(
  report: BenchReport,
  outDir: string,
): { json: string; markdown: string; svgs: string[] } {
  mkdirSync(outDir, { recursive: true });
  const base = fileBase(report);
  const json = join(outDir, `${base}.json`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const svgs: string[] = [];
  const chart = (name: string, svg: string) => {
    const file = join(outDir, `${base}-${name}.svg`);
    writeFileSync(file, svg);
    svgs.push(file);
    return `![${name}](${basename(file)})`;
  };

  const nodeHttp = report.ceilings.nodeHttp?.acceptedPerSecond;
  const fastify = report.ceilings.fastify?.acceptedPerSecond;
  const baseline = report.baseline?.acceptedPerSecond;
  const intake = report.intake?.acceptedPerSecond;
  const md: string[] = [];
  const m = report.meta;
  md.push(
    `# Orderly benchmark — ${m.startedAt.slice(0, 16).replace('T', ' ')} UTC — ${m.commit}${m.dirty ? ' (uncommitted changes)' : ''}`,
  );
  md.push('');
  md.push(
    `${m.profile} run, ${Math.round(m.durationSeconds / 60)} min; ${m.cpus} × ${m.cpuModel}, ${m.memoryGB} GB, Node ${m.node}; ` +
      `PostgreSQL ${m.postgres.server_version ?? '?'} (fsync ${m.postgres.fsync ?? '?'}, synchronous_commit ${m.postgres.synchronous_commit ?? '?'}); ` +
      `load average at start ${m.loadAverageAtStart.join(' / ')}. Target: ${m.target}. Customers: ${m.auth}. ` +
      `Services run from: ${m.runFrom === 'bundles' ? 'the production bundles (dist/bundles, plain node)' : m.runFrom === 'source' ? 'TypeScript source via tsx' : (m.runFrom ?? 'TypeScript source via tsx')}. Workers: ${m.workers}; node flags: ${m.nodeFlags}; log level: ${m.logLevel}. Load generator on the same machine (its CPU is shown in every row).`,
  );
  md.push('');
  md.push('## Headline');
  md.push('');
  md.push(
    '| measurement | value | vs node:http ceiling | vs Fastify validate-only | vs obvious design |',
  );
  md.push('|---|---|---|---|---|');
  md.push(
    `| node:http hello world (ceiling) | ${n(nodeHttp)} req/s | 1.00× | ${x(nodeHttp, fastify)} | ${x(nodeHttp, baseline)} |`,
  );
  md.push(
    `| Fastify JSON-schema validate-only (ceiling) | ${n(fastify)} req/s | ${x(fastify, nodeHttp)} | 1.00× | ${x(fastify, baseline)} |`,
  );
  md.push(
    `| obvious design: Fastify + 1 transaction (order + outbox) | ${n(baseline)} orders/s | ${x(baseline, nodeHttp)} | ${x(baseline, fastify)} | 1.00× |`,
  );
  md.push(
    `| **Orderly intake** (POST /v1/orders via gateway, ${report.intake?.connections ?? '?'} conns) | **${n(intake)} orders/s** | ${x(intake, nodeHttp)} | **${x(intake, fastify)}** | **${x(intake, baseline)}** |`,
  );
  const at1000 =
    report.latency.find((l) => l.http.offeredRate === 1000) ??
    report.latency[report.latency.length - 1];
  if (at1000)
    md.push(
      `| Orderly intake p99 at ${n(at1000.http.offeredRate)} orders/s offered (${n(at1000.http.statuses['202'] ?? 0)} of ${n(at1000.http.sent)} accepted) | ${n(at1000.http.latencyMs.p99, 1)} ms | | | |`,
    );
  if (report.saturation)
    md.push(
      `| Orderly completed sagas/s at saturation (${report.saturation.windowSeconds} s window) | ${n(report.saturation.sustainedSagasPerSecond)} /s | | | |`,
    );
  if (report.e2eFixed)
    md.push(
      `| placement→confirmation p99 at ${report.e2eFixed.rate} orders/s | ${n(report.e2eFixed.sagas.toConfirmedMs.p99, 1)} ms | | | |`,
    );
  md.push('');
  md.push('## Targets (issue 7)');
  md.push('');
  md.push('| target | goal | measured | result |');
  md.push('|---|---|---|---|');
  for (const t of report.targets)
    md.push(
      `| ${t.target} | ${t.goal} | ${t.measured} | ${t.pass === null ? '— not measured' : t.pass ? '✅ pass' : '❌ fail'} |`,
    );
  md.push('');

  md.push('## Charts');
  md.push('');
  md.push(
    chart(
      'throughput',
      horizontalBars('Accepted requests per second (same run, same machine)', '/s', [
        { label: 'node:http hello world', value: nodeHttp ?? NaN },
        { label: 'Fastify validate-only', value: fastify ?? NaN },
        { label: 'obvious design (1 tx/order)', value: baseline ?? NaN },
        {
          label: 'Orderly intake (gateway)',
          value: intake ?? NaN,
          note: x(intake, baseline) + ' of baseline',
        },
      ]),
    ),
  );
  const httpRuns = [
    ...(report.e2eFixed ? [report.e2eFixed.http] : []),
    ...report.latency.map((l) => l.http),
    ...(report.intake ? [report.intake] : []),
  ];
  if (httpRuns.length > 0) {
    md.push('');
    md.push(
      chart(
        'latency',
        groupedBars(
          'Orderly POST /v1/orders latency (open loop: from the intended send time)',
          'ms',
          httpRuns.map((h) => ({
            label: h.mode === 'open' ? `${n(h.offeredRate)}/s` : `${h.connections} conns`,
            values: [h.latencyMs.p50, h.latencyMs.p99, h.latencyMs.p999],
          })),
          ['p50', 'p99', 'p99.9'],
        ),
      ),
    );
  }
  if (report.intake) {
    const series = [
      { name: 'accepted orders/s', points: report.intake.timeline.map((y, i) => ({ x: i, y })) },
    ];
    if (report.saturation)
      series.push({
        name: 'completed sagas/s',
        points: report.saturation.completionsPerSecond.map((y, i) => ({ x: i, y })),
      });
    md.push('');
    md.push(
      chart(
        'saturation',
        lines(
          'Intake and saga completions per second at saturation (then drain)',
          'seconds since the window started',
          'per second',
          series,
        ),
      ),
    );
  }
  const cdfs = [
    ...(report.e2eFixed
      ? [{ name: `${report.e2eFixed.rate}/s offered`, s: report.e2eFixed.sagas }]
      : []),
    ...report.latency
      .filter((l) => l.sagas)
      .map((l) => ({ name: `${n(l.http.offeredRate)}/s offered`, s: l.sagas as SagaFigures })),
    ...(report.saturation ? [{ name: 'saturation', s: report.saturation.sagas }] : []),
  ];
  if (cdfs.length > 0) {
    md.push('');
    md.push(
      chart(
        'placement-to-confirmation',
        lines(
          "Placement → CONFIRMED (services' own timestamps), cumulative",
          'ms (log scale)',
          'fraction of confirmed orders',
          cdfs.map((c) => ({
            name: c.name,
            points: c.s.toConfirmedCdf.map((p) => ({ x: p.ms, y: p.fraction })),
          })),
          { logX: true, yMax: 1 },
        ),
      ),
    );
  }
  const phases: { name: string; r: PhaseResources }[] = [
    ...(report.ceilings.nodeHttp
      ? [{ name: 'node:http', r: report.ceilings.nodeHttp.resources }]
      : []),
    ...(report.ceilings.fastify ? [{ name: 'Fastify', r: report.ceilings.fastify.resources }] : []),
    ...(report.baseline ? [{ name: 'baseline', r: report.baseline.resources }] : []),
    ...(report.idle ? [{ name: 'idle', r: report.idle.resources }] : []),
    ...httpRuns.map((h) => ({
      name: h.mode === 'open' ? `${n(h.offeredRate)}/s` : 'intake',
      r: h.resources,
    })),
  ];
  if (phases.length > 0) {
    const split = (r: PhaseResources) => {
      const loadgen = r.processes.find((p) => p.label === 'load generator')?.cpuSeconds ?? 0;
      const other = r.groups['postgres (other)'] + r.groups.other;
      return [
        r.groups['bench processes'] - loadgen,
        loadgen,
        r.groups['postgres (this run)'],
        r.groups['nats-server'],
        other,
      ].map((v) => Math.round((v / r.wallSeconds) * 100));
    };
    md.push('');
    md.push(
      chart(
        'cpu',
        groupedBars(
          'Where the CPU went, per window (100 = one core)',
          '% of one core',
          phases.map((p) => ({ label: p.name, values: split(p.r) })),
          [
            'measured server(s)',
            'load generator',
            'postgres (run)',
            'nats-server',
            'everything else',
          ],
        ),
      ),
    );
  }
  md.push('');

  md.push('## HTTP runs');
  md.push('');
  md.push(
    'Closed loop: each connection sends its next request when the previous answer arrived (after a shed answer with Retry-After, it waits that long first, as a well-behaved client does). Open loop: requests are due at a fixed rate and latency runs from when each was due (a request waiting for a free connection is counted as waiting), so coordinated omission does not hide stalls. "server CPU/req" is the CPU of the measured process(es) — for Orderly all services — per accepted request.',
  );
  md.push('');
  md.push(
    '| run | load | accepted/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | not accepted | server CPU/req µs | load generator CPU |',
  );
  md.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const h of [report.ceilings.nodeHttp, report.ceilings.fastify, report.baseline, ...httpRuns])
    if (h) md.push(httpRow(h));
  const samples = [report.baseline, ...httpRuns].filter((h) => h?.sampleErrorBody);
  if (samples.length > 0) {
    md.push('');
    for (const h of samples)
      md.push(
        `- first non-accepted answer in "${h?.name}": \`${h?.sampleErrorBody?.replace(/`/g, "'")}\``,
      );
  }
  md.push('');

  md.push('## End-to-end sagas');
  md.push('');
  md.push(
    "A saga is complete when the order is CONFIRMED and its customer notification exists; times are from the order service's `placed_at` and CONFIRMED history row and the notification service's `created_at`.",
  );
  md.push('');
  md.push(
    '| orders placed during | placed | completed | cancelled | still open | →CONFIRMED p50 ms | p99 ms | p99.9 ms | max ms | →notified p99 ms | drain after |',
  );
  md.push('|---|---|---|---|---|---|---|---|---|---|---|');
  if (report.e2eFixed)
    md.push(
      sagaRow(`${report.e2eFixed.rate}/s offered`, report.e2eFixed.sagas, report.e2eFixed.drain),
    );
  for (const l of report.latency)
    if (l.sagas) md.push(sagaRow(`${n(l.http.offeredRate)}/s offered`, l.sagas, l.drain));
  if (report.saturation)
    md.push(
      sagaRow(
        `saturation (${report.intake?.connections} conns)`,
        report.saturation.sagas,
        report.saturation.drain,
      ),
    );
  if (report.saturation) {
    md.push('');
    md.push(
      `At saturation the services completed **${n(report.saturation.sustainedSagasPerSecond)} sagas/s** during the ${report.saturation.windowSeconds} s window while accepting ${n(intake)} orders/s; ` +
        `after the load stopped the backlog drained at ${n(report.saturation.drainSagasPerSecond)} sagas/s. Sum of the services' peak RSS: ${n(report.saturation.servicesPeakRssMB)} MB.`,
    );
  }
  if (report.invariants) {
    md.push('');
    md.push(
      `Invariants after the run (${n(report.invariants.orders)} orders, ${n(report.invariants.confirmed)} confirmed): ${report.invariants.ok ? '**all hold**' : `**BROKEN** — ${report.invariants.problems.join('; ')}`}.`,
    );
  }
  md.push('');

  md.push('## Resources');
  md.push('');
  md.push(
    "CPU seconds from /proc/<pid>/stat over each measured window; peak RSS is the kernel's high-water mark (VmHWM, since the process started); GC pauses and event-loop delay come from a preloaded probe (`bench/src/probe.ts`: PerformanceObserver \"gc\" and a 100 ms timer's lateness; the probe's own CPU is inside each service's figure, ~0.1 % of a core per process). \"postgres (other)\" includes PostgreSQL's shared background processes (WAL writer, checkpointer) as well as other databases' backends.",
  );
  md.push('');
  if (report.idle)
    md.push(
      resourcesSection(
        `Idle (services: ${report.idle.servicesCpuPercentOfCore} % of one core)`,
        report.idle.resources,
      ),
    );
  for (const h of [report.ceilings.nodeHttp, report.ceilings.fastify, report.baseline, ...httpRuns])
    if (h) md.push(resourcesSection(h.name, h.resources));

  if (report.matrix) {
    md.push('## Worker count and heap flags (items 3 and 4)');
    md.push('');
    md.push(
      'Each row is a fresh system: an open-loop run at the given rate, then a closed-loop intake run. GC and event-loop figures are from the intake window.',
    );
    md.push('');
    md.push(
      '| variant | node flags | workers | intake/s | intake p99 ms | offered/s | p99 ms | p99.9 ms | GC ms/s gateway · order | largest GC pause ms gateway · order | ELD p99 ms gateway · order | peak RSS MB gateway · order |',
    );
    md.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of report.matrix.rows) {
      const pair = (v: Record<string, number>) => `${n(v.gateway, 1)} · ${n(v.order, 1)}`;
      md.push(
        r.error
          ? `| ${r.variant} | ${r.nodeFlags} | ${r.workers ?? 'default'} | failed: ${r.error.split('\n')[0]?.slice(0, 160).replace(/\|/g, '/')} | | | | | | | | |`
          : `| ${r.variant} | ${r.nodeFlags} | ${r.workers ?? 'default'} | ${n(r.intakePerSecond)} | ${n(r.intakeP99Ms, 1)} | ${n(r.latencyRate)} | ${n(r.p99AtRateMs, 1)} | ${n(r.p999AtRateMs, 1)} | ${pair(r.gcMsPerSecond)} | ${pair(r.gcMaxPauseMs)} | ${pair(r.eventLoopDelayP99Ms)} | ${pair(r.peakRssMB)} |`,
      );
    }
    for (const note of report.matrix.notes) md.push(`\n${note}`);
    md.push('');
  }

  if (report.profiles && report.profiles.length > 0) {
    md.push('## CPU profiles');
    md.push('');
    for (const p of report.profiles) {
      md.push(
        `### ${p.label} (${basename(p.file)}), ${p.window} — ${n(p.busyMs)} ms busy of ${n(p.totalMs)} ms`,
      );
      md.push('');
      md.push('| self time by package | ms | % of busy |');
      md.push('|---|---|---|');
      for (const pkg of p.byPackage.slice(0, 10))
        md.push(`| ${pkg.name} | ${n(pkg.selfMs)} | ${pkg.percentOfBusy} |`);
      md.push('');
      md.push('| function | where | self ms | % of busy |');
      md.push('|---|---|---|---|');
      for (const f of p.topFunctions)
        md.push(`| ${f.name} | ${f.where} | ${n(f.selfMs)} | ${f.percentOfBusy} |`);
      md.push('');
    }
  }

  if (report.notes.length > 0) {
    md.push('## Notes');
    md.push('');
    for (const note of report.notes) md.push(`- ${note}`);
    md.push('');
  }
  md.push('## Reproduce');
  md.push('');
  md.push('```sh');
  md.push(`npm run bench${m.args.length > 0 ? ` -- ${m.args.join(' ')}` : ''}`);
  md.push('```');
  md.push('');
  const markdown = join(outDir, `${base}.md`);
  writeFileSync(markdown, md.join('\n'));
  return { json, markdown, svgs };
}

/**
 * Reads a written report back and lists what is missing or malformed (the smoke run's check: it
 * proves the bench works end to end, never how fast anything is).
 */
export function checkWrittenReport(files: {
  json: string;
  markdown: string;
  svgs: string[];
}): string[] {
  const problems: string[] = [];
  let report: Partial<BenchReport>;
  try {
    report = JSON.parse(readFileSync(files.json, 'utf8')) as Partial<BenchReport>;
  } catch (error) {
    return [`${files.json} is not JSON: ${String(error)}`];
  }
  if (!report.meta?.commit || !report.meta.startedAt)
    problems.push('meta.commit/startedAt missing');
  if (!Array.isArray(report.targets) || report.targets.length === 0)
    problems.push('targets missing');
  const runs = [
    report.ceilings?.nodeHttp,
    report.ceilings?.fastify,
    report.baseline,
    report.intake,
    ...(report.latency ?? []).map((l) => l.http),
    report.e2eFixed?.http,
  ];
  for (const run of runs) {
    if (!run) continue;
    if (typeof run.acceptedPerSecond !== 'number' || typeof run.latencyMs?.p99 !== 'number')
      problems.push(`${run.name}: figures missing`);
    if (run.sent === 0) problems.push(`${run.name}: no request was sent`);
    if ((run.statuses[run.name.includes('node:http') ? '200' : '202'] ?? 0) === 0) {
      problems.push(
        `${run.name}: no request was accepted (${JSON.stringify(run.statuses)} ${JSON.stringify(run.errors)} ${run.sampleErrorBody ?? ''})`,
      );
    }
    if (!Array.isArray(run.resources?.processes) || run.resources.processes.length === 0)
      problems.push(`${run.name}: resources missing`);
  }
  const markdown = readFileSync(files.markdown, 'utf8');
  for (const heading of ['## Headline', '## Targets', '## Resources'])
    if (!markdown.includes(heading)) problems.push(`markdown lacks ${heading}`);
  for (const svg of files.svgs) {
    const text = readFileSync(svg, 'utf8');
    if (!text.startsWith('<svg') || !text.trimEnd().endsWith('</svg>') || text.includes('NaN'))
      problems.push(`${basename(svg)} is not a well-formed chart`);
  }
  return problems;
}
