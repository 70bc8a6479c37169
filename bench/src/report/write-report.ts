import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  isNotMeasured,
  type BenchReport,
  type HttpFigures,
  type SagaCost,
  type SagaFigures,
} from '../report-types.js';
import { targetNames } from '../targets.js';
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

function failed(h: HttpFigures): string {
  if (!h.failures) return nonAccepted(h);
  const f = h.failures;
  if (f.total === 0) return '0';
  const parts: string[] = [];
  if (f.shed > 0) parts.push(`${n(f.shed)} shed (503)`);
  for (const [status, count] of Object.entries(f.otherStatuses))
    parts.push(`${n(count)}×${status}`);
  for (const [error, count] of Object.entries(h.errors)) parts.push(`${n(count)}× ${error}`);
  return `**${n(f.total)}** of ${n(h.sent)}: ${parts.join(', ')}`;
}

function httpRow(h: HttpFigures): string {
  const load = h.mode === 'open' ? `${n(h.offeredRate)}/s offered` : `${h.connections} conns`;
  const l = h.latencyMs;
  return `| ${h.name} | ${load} | **${n(h.acceptedPerSecond)}** | ${n(l.p50, 1)} | ${n(l.p90, 1)} | ${n(l.p99, 1)} | ${n(l.p999, 1)} | ${n(l.max, 1)} | ${failed(h)} | ${n(h.serverCpuUsPerRequest)} | ${h.loadGenerator.percentOfCore} % (${h.loadGenerator.percentOfMachineBusy} % of busy) |`;
}

function costSection(cost: SagaCost, md: string[], window = 'the saturation window'): void {
  md.push(
    `Over ${window} (${cost.windowSeconds} s, ${n(cost.completedSagas)} sagas completed in it): CPU time from /proc per process, statements from \`pg_stat_statements\` (sum of \`calls\` in this run's databases, read at the window's start and end), publishes and deliveries from JetStream's own counters of this run's stream (its last sequence number; its consumers' delivered and acknowledged sequences). Amortised: everything done in the window, divided by the sagas completed in it.`,
  );
  md.push('');
  if (isNotMeasured(cost.cpu))
    md.push(`CPU per completed saga: not measured: ${cost.cpu.notMeasured}.`);
  else {
    md.push('| process | CPU s in the window | CPU per completed saga, ms |');
    md.push('|---|---|---|');
    for (const r of cost.cpu.rows)
      md.push(
        `| ${r.label}${r.note ? ` (${r.note})` : ''} | ${n(r.cpuSeconds, 2)} | ${n(r.msPerSaga, 2)} |`,
      );
    md.push(
      `| **sum** | ${n(
        cost.cpu.rows.reduce((a, r) => a + r.cpuSeconds, 0),
        2,
      )} | **${n(cost.cpu.sumMsPerSaga, 2)}** |`,
    );
    md.push('');
    md.push(
      'Not in the sum: the load generator and the bench itself (listed under Resources), other databases\' backends and everything else on the machine ("postgres (other)", "other").',
    );
    if (cost.postgresByService && cost.postgresByService.length > 0) {
      md.push('');
      md.push(
        `PostgreSQL's backends by the database they serve, per completed saga: ${cost.postgresByService.map((p) => `${p.service} ${n(p.msPerSaga, 2)} ms`).join(', ')}.`,
      );
    }
  }
  md.push('');
  if (isNotMeasured(cost.statements))
    md.push(`Statements per saga: **not measured**: ${cost.statements.notMeasured}.`);
  else {
    md.push(
      `Statements per saga: **${n(cost.statements.perSaga, 1)}** (${n(cost.statements.total)} statements).`,
    );
    md.push('');
    md.push('| database | service | statements | per completed saga |');
    md.push('|---|---|---|---|');
    for (const d of cost.statements.byDatabase)
      md.push(`| ${d.database} | ${d.service} | ${n(d.calls)} | ${n(d.perSaga, 1)} |`);
  }
  md.push('');
  if (cost.commits && isNotMeasured(cost.commits))
    md.push(`Transactions per saga: **not measured**: ${cost.commits.notMeasured}.`);
  else if (cost.commits) {
    md.push(
      `Transactions per saga: **${n(cost.commits.perSaga, 2)}** (${n(cost.commits.total)} commits, pg_stat_database): ${cost.commits.byDatabase.map((d) => `${d.service} ${n(d.perSaga, 2)}`).join(', ')}.`,
    );
  }
  md.push('');
  if (isNotMeasured(cost.bus))
    md.push(`Bus publishes and deliveries per saga: not measured: ${cost.bus.notMeasured}.`);
  else
    md.push(
      `Bus (stream ${cost.bus.stream}): **${n(cost.bus.publishesPerSaga, 1)} publishes** and **${n(cost.bus.deliveriesPerSaga, 1)} deliveries** per completed saga (${n(cost.bus.published)} published, ${n(cost.bus.delivered)} delivered, ${n(cost.bus.acked)} acknowledged in the window).`,
    );
  md.push('');
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
    if (p.tree)
      return `| ${p.label} (${p.tree.processes} processes) | ${p.cpuSeconds} | ${p.cpuPercentOfCore} % | n/a | ${n(p.tree.maxSampledPssMB)} (PSS sum) | n/a | n/a | n/a |`;
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
  const dirtyList = m.dirtyFiles ?? [];
  md.push(
    `${m.profile} run, ${Math.round(m.durationSeconds / 60)} min; commit ${m.commit}, ${
      m.dirty
        ? `**uncommitted changes** in ${
            dirtyList.length > 0
              ? `${dirtyList.length} file(s): ${dirtyList
                  .slice(0, 30)
                  .map((f) => `\`${f}\``)
                  .join(', ')}${dirtyList.length > 30 ? ', …' : ''}`
              : 'the tree'
          }`
        : 'clean tree'
    }; ` +
      `${m.cpus} × ${m.cpuModel}, ${m.memoryGB} GB, Node ${m.node}; ` +
      `PostgreSQL ${m.postgres.server_version ?? '?'} (fsync ${m.postgres.fsync ?? '?'}, synchronous_commit ${m.postgres.synchronous_commit ?? '?'}); ` +
      `load average at start ${m.loadAverageAtStart.join(' / ')}, at end ${m.loadAverageAtEnd?.join(' / ') ?? 'not recorded'}. Target: ${m.target}. Customers: ${m.auth}. ` +
      `Trace sampling of the distributed system: ${m.samplingRatio ?? 'from configuration'}. ` +
      `Services run from: ${m.runFrom === 'bundles' ? "the production bundles (tools/build, built into the run's own folder; plain node)" : m.runFrom === 'source' ? 'TypeScript source via tsx' : (m.runFrom ?? 'TypeScript source via tsx')}. Workers: ${m.workers}; ${m.replicas && m.replicas > 1 ? `replicas: ${m.replicas} processes per service (each on its own port; gateway replica n calls replica n of each upstream; the load generator spreads its connections over the gateways); ` : ''}${m.nats ? `NATS: ${m.nats}; ` : ''}node flags: ${m.nodeFlags}; log level: ${m.logLevel}. Load generator on the same machine (its CPU is shown in every row).`,
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
  if (report.half)
    md.push(
      `| at half of saturation (${n(report.half.rate)} orders/s offered): intake p99 / placement→terminal p99 | ${n(report.half.http.latencyMs.p99, 1)} ms / ${n(report.half.sagas?.toTerminalMs?.p99, 1)} ms | | | |`,
    );
  if (report.embedded?.sustainedSagasPerSecond !== undefined)
    md.push(
      `| embedded system (npm start): completed sagas/s at saturation / intake | ${n(report.embedded.sustainedSagasPerSecond)} /s / ${n(report.embedded.intake?.acceptedPerSecond)} orders/s | | | ${x(report.embedded.intake?.acceptedPerSecond, baseline)} |`,
    );
  md.push('');
  md.push('## Targets (performance issue)');
  md.push('');
  md.push(
    'Each row is measured in this run, against the baseline of this run; "not measured" says why and never stands for a number.',
  );
  md.push('');
  md.push('| figure | target | measured | result |');
  md.push('|---|---|---|---|');
  for (const t of report.targets)
    md.push(
      `| ${t.target} | ${t.goal} | ${t.measured.replace(/\|/g, '/')} | ${t.pass === null ? '— not measured' : t.pass ? '✅ pass' : '❌ fail'} |`,
    );
  md.push('');
  if (report.saturation?.cost) {
    md.push('## Cost per completed saga at saturation');
    md.push('');
    costSection(report.saturation.cost, md);
  }
  if (report.e2eFixed?.cost) {
    md.push(`## Cost per completed saga at ${n(report.e2eFixed.rate)} orders/s offered`);
    md.push('');
    costSection(report.e2eFixed.cost, md, 'the fixed-rate window');
  }
  if (report.half) {
    const h = report.half;
    md.push('## Half of saturation');
    md.push('');
    md.push(
      `Open loop at **${n(h.rate)} orders/s** (${h.basis}), ${h.http.windowSeconds} s measured, after the saturation run drained. Intake latency counts every request from when it was due, failures included at their elapsed time (no answer: at least the request timeout); placement→terminal counts every order placed in the window, CANCELLED ones at their cancellation and open ones at their age.`,
    );
    md.push('');
    const l = h.http.latencyMs;
    md.push(
      `- intake: p50 ${n(l.p50, 1)} ms, p99 **${n(l.p99, 1)} ms**, p99.9 ${n(l.p999, 1)} ms, max ${n(l.max, 1)} ms over ${n(h.http.sent)} requests; failed: ${failed(h.http)}; **shed (503): ${n(h.http.failures?.shed ?? h.http.statuses['503'] ?? 0)}**`,
    );
    if (h.sagas) {
      const s = h.sagas;
      const cancelled =
        Object.entries(s.cancelled)
          .map(([r, c]) => `${n(c)} ${r}`)
          .join(', ') || 'none';
      md.push(
        `- placement→terminal: p50 ${n(s.toTerminalMs?.p50, 1)} ms, p99 **${n(s.toTerminalMs?.p99, 1)} ms**, max ${n(s.toTerminalMs?.max, 1)} ms over ${n(s.placed)} orders: ${n(s.confirmed)} CONFIRMED (p50 ${n(s.toConfirmedMs.p50, 1)} ms, p99 ${n(s.toConfirmedMs.p99, 1)} ms), CANCELLED: ${cancelled}; still open after the drain: ${n(s.open)}`,
      );
    } else
      md.push(
        '- placement→terminal: not measured (no order/notification databases in --target mode)',
      );
    md.push('');
  }
  if (report.telemetry) {
    md.push('## Telemetry: production sampling vs 100 %');
    md.push('');
    md.push(report.telemetry.note);
    md.push('');
    if (report.telemetry.rows.length > 0) {
      md.push(
        '| sampling ratio | offered/s | accepted/s | completed sagas | intake p99 ms | services CPU per saga ms | services + PostgreSQL + NATS per saga ms |',
      );
      md.push('|---|---|---|---|---|---|---|');
      for (const r of report.telemetry.rows)
        md.push(
          r.error
            ? `| ${r.samplingRatio} | ${n(r.rate)} | failed: ${r.error.split('\n')[0]?.slice(0, 160).replace(/\|/g, '/')} | | | | |`
            : `| ${r.samplingRatio} | ${n(r.rate)} | ${n(r.http?.acceptedPerSecond)} | ${n(r.completedSagas)} | ${n(r.http?.latencyMs.p99, 1)} | ${n(r.servicesMsPerSaga, 2)} | ${n(r.systemMsPerSaga, 2)} |`,
        );
      const [prod, all] = report.telemetry.rows;
      if (prod?.systemMsPerSaga && all?.systemMsPerSaga)
        md.push(
          `\n100 % sampling costs ${n(all.systemMsPerSaga - prod.systemMsPerSaga, 2)} ms more CPU per saga than ${prod.samplingRatio} (${n(((all.systemMsPerSaga - prod.systemMsPerSaga) / prod.systemMsPerSaga) * 100, 1)} %).`,
        );
      md.push('');
    }
  }
  if (report.embedded) {
    const e = report.embedded;
    md.push("## Embedded system (`npm start`'s)");
    md.push('');
    md.push(
      `One process (every service, the in-memory bus) and its embedded PostgreSQL, on the bench's own ports and a temporary data directory; run from ${e.bundle}. Trace sampling ${e.samplingRatio}.`,
    );
    md.push('');
    if (e.error)
      md.push(`**The embedded run failed**: \`${e.error.split('\n')[0]?.replace(/`/g, "'")}\``);
    else {
      md.push(
        `- completed sagas/s at saturation: **${n(e.sustainedSagasPerSecond)}** over ${e.windowSeconds} s (${n(e.intake?.connections)} connections; intake ${n(e.intake?.acceptedPerSecond)} orders/s, p99 ${n(e.intake?.latencyMs.p99, 1)} ms, failed ${e.intake ? failed(e.intake) : 'n/a'})`,
      );
      if (e.cpuMsPerSaga)
        md.push(
          `- CPU per completed saga: ${n(e.cpuMsPerSaga.sum, 2)} ms (Node ${n(e.cpuMsPerSaga.node, 2)} ms, its PostgreSQL ${n(e.cpuMsPerSaga.postgres, 2)} ms)`,
        );
      md.push(
        `- memory: peak RSS of the Node process **${n(e.peakRssMB)} MB** (VmHWM); its PostgreSQL's processes ${n(e.postgresPssMB)} MB (largest sampled sum of PSS)`,
      );
      if (e.idle)
        md.push(
          `- idle: **${n(e.idle.percentOfCore, 1)} %** of a core (Node process + its PostgreSQL)`,
        );
      if (e.sagas && e.drain) {
        md.push('');
        md.push(
          '| orders placed during | placed | completed | cancelled | still open | →CONFIRMED p50 ms | p99 ms | p99.9 ms | max ms | →notified p99 ms | drain after |',
        );
        md.push('|---|---|---|---|---|---|---|---|---|---|---|');
        md.push(sagaRow('embedded saturation', e.sagas, e.drain));
      }
    }
    md.push('');
  }

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
    ...(report.half ? [report.half.http] : []),
  ];
  const otherRuns = [
    ...(report.telemetry?.rows ?? []).flatMap((r) => (r.http ? [r.http] : [])),
    ...(report.embedded?.intake ? [report.embedded.intake] : []),
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
        r.groups['postgres (this run)'] + (r.groups['postgres (shared)'] ?? 0),
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
            'postgres (run + shared)',
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
    'Closed loop: each connection sends its next request when the previous answer arrived (after a shed answer with Retry-After, it waits that long first, as a well-behaved client does). Open loop: requests are due at a fixed rate and latency runs from when each was due (a request waiting for a free connection is counted as waiting), so coordinated omission does not hide stalls. Percentiles count every request of the window, failures included: a refused answer at its elapsed time, a request with no answer (timed out, unanswered at the end, never sent) at its elapsed time but at least the request timeout; "failed" lists them. "server CPU/req" is the CPU of the measured process(es) — for Orderly all services — per accepted request.',
  );
  md.push('');
  md.push(
    '| run | load | accepted/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | failed | server CPU/req µs | load generator CPU |',
  );
  md.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const h of [
    report.ceilings.nodeHttp,
    report.ceilings.fastify,
    report.baseline,
    ...httpRuns,
    ...otherRuns,
  ])
    if (h) md.push(httpRow(h));
  const samples = [report.baseline, ...httpRuns, ...otherRuns].filter((h) => h?.sampleErrorBody);
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
    'CPU seconds from /proc/<pid>/stat over each measured window; peak RSS is the kernel\'s high-water mark (VmHWM, since the process started); GC pauses and event-loop delay come from a preloaded probe (`bench/src/probe.ts`: PerformanceObserver "gc" and a 100 ms timer\'s lateness; the probe\'s own CPU is inside each service\'s figure, ~0.1 % of a core per process). "postgres (this run)" is the backends of this run\'s databases; "postgres (shared)" the postmaster and its background processes (WAL writer, checkpointer, background writer), which serve every database; "postgres (other)" other databases\' backends. A process tree (the embedded PostgreSQL) shows its CPU summed and its memory as the sum of its processes\' PSS.',
  );
  md.push('');
  if (report.idle)
    md.push(
      resourcesSection(
        `Idle (services: ${report.idle.servicesCpuPercentOfCore} % of one core${
          report.idle.wholeSystem
            ? `; whole system ${report.idle.wholeSystem.percentOfCore} %: ${Object.entries(
                report.idle.wholeSystem.parts,
              )
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')}`
            : ''
        })`,
        report.idle.resources,
      ),
    );
  for (const h of [
    report.ceilings.nodeHttp,
    report.ceilings.fastify,
    report.baseline,
    ...httpRuns,
    ...otherRuns,
  ])
    if (h) md.push(resourcesSection(h.name, h.resources));
  if (report.embedded?.idle)
    md.push(
      resourcesSection(
        `Embedded idle (${report.embedded.idle.percentOfCore} % of one core)`,
        report.embedded.idle.resources,
      ),
    );

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
 * proves the bench works end to end, never how fast anything is). `parts` are the parts that ran
 * against a system the bench started: each must have left its figures.
 */
export function checkWrittenReport(
  files: {
    json: string;
    markdown: string;
    svgs: string[];
  },
  parts: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  let report: Partial<BenchReport>;
  try {
    report = JSON.parse(readFileSync(files.json, 'utf8')) as Partial<BenchReport>;
  } catch (error) {
    return [`${files.json} is not JSON: ${String(error)}`];
  }
  const meta = report.meta;
  if (!meta?.commit || !meta.startedAt) problems.push('meta.commit/startedAt missing');
  if (!meta?.node) problems.push('meta.node missing');
  if (!Array.isArray(meta?.dirtyFiles)) problems.push('meta.dirtyFiles missing');
  if (meta?.dirty !== (meta?.dirtyFiles?.length ?? 0) > 0)
    problems.push('meta.dirty disagrees with meta.dirtyFiles');
  if (meta?.loadAverageAtStart?.length !== 3 || meta.loadAverageAtEnd?.length !== 3)
    problems.push('load averages at start and end missing');
  if (!Array.isArray(report.targets) || report.targets.length === 0)
    problems.push('targets missing');
  else {
    const names = report.targets.map((t) => t.target);
    if (JSON.stringify(names) !== JSON.stringify(targetNames))
      problems.push(`targets are not the issue's rows: ${JSON.stringify(names)}`);
    for (const t of report.targets) {
      if (t.pass === null && !t.measured.startsWith('not measured: '))
        problems.push(`target "${t.target}" is neither judged nor "not measured: <why>"`);
      if (t.pass !== null && !/\d/.test(t.measured))
        problems.push(`target "${t.target}" is judged without a figure: ${t.measured}`);
    }
  }
  const runs = [
    report.ceilings?.nodeHttp,
    report.ceilings?.fastify,
    report.baseline,
    report.intake,
    ...(report.latency ?? []).map((l) => l.http),
    report.e2eFixed?.http,
    report.half?.http,
    report.embedded?.intake,
  ];
  for (const run of runs) {
    if (!run) continue;
    const ok = run.name.includes('node:http') ? '200' : '202';
    if (typeof run.acceptedPerSecond !== 'number' || typeof run.latencyMs?.p99 !== 'number')
      problems.push(`${run.name}: figures missing`);
    if (run.sent === 0) problems.push(`${run.name}: no request was sent`);
    if ((run.statuses[ok] ?? 0) === 0) {
      problems.push(
        `${run.name}: no request was accepted (${JSON.stringify(run.statuses)} ${JSON.stringify(run.errors)} ${run.sampleErrorBody ?? ''})`,
      );
    }
    // item 1: no request is dropped — each one sent is accepted or counted as a failure, and is in
    // the latency distribution
    if (!run.failures) problems.push(`${run.name}: failures not counted`);
    else if ((run.statuses[ok] ?? 0) + run.failures.total !== run.sent)
      problems.push(
        `${run.name}: ${run.sent} sent but ${run.statuses[ok] ?? 0} accepted + ${run.failures.total} failed`,
      );
    if (run.latencyMs && run.latencyMs.count !== run.sent)
      problems.push(
        `${run.name}: the latency distribution holds ${run.latencyMs.count} of ${run.sent} requests`,
      );
    if (!Array.isArray(run.resources?.processes) || run.resources.processes.length === 0)
      problems.push(`${run.name}: resources missing`);
  }
  const ran = (part: string) => parts.includes(part);
  if (ran('idle') && typeof report.idle?.wholeSystem?.percentOfCore !== 'number')
    problems.push('idle: the whole-system figure is missing');
  if (ran('intake')) {
    const cost = report.saturation?.cost;
    if (!cost) problems.push('saturation: the cost per saga is missing');
    else {
      for (const [name, figure, field] of [
        ['CPU per saga', cost.cpu, 'sumMsPerSaga'],
        ['statements per saga', cost.statements, 'perSaga'],
        ['bus hops per saga', cost.bus, 'deliveriesPerSaga'],
      ] as const) {
        const value = (figure as unknown as Record<string, unknown>)[field];
        if (isNotMeasured(figure)) {
          if (!figure.notMeasured) problems.push(`${name}: "not measured" without a reason`);
        } else if (typeof value !== 'number' || Number.isNaN(value))
          problems.push(`${name} is neither a number nor "not measured: <why>"`);
      }
    }
  }
  if (ran('half')) {
    if (!report.half) problems.push('the half-saturation part left no figures');
    else if (!report.half.sagas?.toTerminalMs)
      problems.push('half saturation: placement→terminal latency missing');
  }
  if (ran('embedded')) {
    if (!report.embedded) problems.push('the embedded part left no figures');
    else if (report.embedded.error) problems.push(`embedded: ${report.embedded.error}`);
    else if (
      typeof report.embedded.sustainedSagasPerSecond !== 'number' ||
      typeof report.embedded.peakRssMB !== 'number' ||
      typeof report.embedded.idle?.percentOfCore !== 'number'
    )
      problems.push('embedded: sagas/s, RSS or idle CPU missing');
  }
  const markdown = readFileSync(files.markdown, 'utf8');
  const headings = ['## Headline', '## Targets (performance issue)', '## Resources'];
  if (ran('intake')) headings.push('## Cost per completed saga at saturation');
  if (ran('half')) headings.push('## Half of saturation');
  if (ran('embedded')) headings.push("## Embedded system (`npm start`'s)");
  for (const heading of headings)
    if (!markdown.includes(heading)) problems.push(`markdown lacks ${heading}`);
  if (markdown.includes('Targets (issue 7)'))
    problems.push('markdown still has the old targets table');
  for (const svg of files.svgs) {
    const text = readFileSync(svg, 'utf8');
    if (!text.startsWith('<svg') || !text.trimEnd().endsWith('</svg>') || text.includes('NaN'))
      problems.push(`${basename(svg)} is not a well-formed chart`);
  }
  return problems;
}
