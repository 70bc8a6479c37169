import type { BenchReport, SagaCost } from '../report-types.js';
import type { PhaseResources } from '../resources.js';

/**
 * `npm run bench:scaling`: the same load on a system with one process per service and on one with
 * more (replicas), each configuration run more than once, side by side. What it compares is CPU per
 * completed saga per component: a service's figure is the sum over its replicas.
 */
export interface ScalingRun {
  readonly replicas: number;
  /** 1, 2, …: the how-manieth run of this configuration. */
  readonly attempt: number;
  /** Configuration values this configuration ran with besides the defaults (--set). */
  readonly settings?: Readonly<Record<string, string>>;
  readonly report: BenchReport;
}

/** One column of the side-by-side tables: a load window of one run. */
export interface ComponentCost {
  /** ms of CPU per completed saga by component (services summed over their replicas). */
  readonly msPerSaga: Record<string, number>;
  readonly totalMsPerSaga: number;
  /** PostgreSQL's row split by the service whose database its backends serve (part of it, not added). */
  readonly postgresByService: Record<string, number>;
  readonly completedSagas: number;
  readonly windowSeconds: number;
  /** CPU seconds of everything else on the machine in the window (other work, other databases). */
  readonly otherCpuSeconds: number;
  readonly machineBusyPercent: number;
}

export const postgresComponent = 'PostgreSQL (this run’s databases)';
export const postgresSharedComponent = 'PostgreSQL (shared background)';
export const natsComponent = 'NATS server';

/** The service a process label belongs to (`order#2` → `order`). */
const serviceOf = (label: string) => label.replace(/#\d+$/, '');
/** The service of one of the bench's databases (`orderly_bench_<run>_order` → `order`). */
const serviceOfDatabase = (database: string) =>
  database.replace(/^orderly_bench_[0-9a-f]+_/, '').replace(/_/g, '-');
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

export function componentCost(
  resources: PhaseResources,
  services: readonly string[],
  completedSagas: number,
): ComponentCost | undefined {
  if (completedSagas <= 0) return undefined;
  const cpu: Record<string, number> = Object.fromEntries(services.map((s) => [s, 0]));
  for (const p of resources.processes) {
    const service = serviceOf(p.label);
    if (services.includes(service)) cpu[service] = (cpu[service] ?? 0) + p.cpuSeconds;
  }
  cpu[postgresComponent] = resources.groups['postgres (this run)'];
  cpu[postgresSharedComponent] = resources.groups['postgres (shared)'];
  cpu[natsComponent] = resources.groups['nats-server'];
  const msPerSaga = Object.fromEntries(
    Object.entries(cpu).map(([k, seconds]) => [k, round((seconds * 1000) / completedSagas)]),
  );
  const postgresByService = Object.fromEntries(
    Object.entries(resources.postgresByDatabase ?? {}).map(([database, seconds]) => [
      serviceOfDatabase(database),
      round((seconds * 1000) / completedSagas),
    ]),
  );
  return {
    msPerSaga,
    postgresByService,
    totalMsPerSaga: round((Object.values(cpu).reduce((a, b) => a + b, 0) * 1000) / completedSagas),
    completedSagas,
    windowSeconds: resources.wallSeconds,
    otherCpuSeconds: round(resources.groups.other + resources.groups['postgres (other)']),
    machineBusyPercent: resources.machineBusyPercent,
  };
}

/** The fixed-rate window of a run: CPU over it, divided by the sagas placed in it that completed. */
export function fixedRateCost(report: BenchReport): ComponentCost | undefined {
  const e2e = report.e2eFixed;
  if (!e2e) return undefined;
  return componentCost(
    e2e.http.resources,
    report.meta.services,
    e2e.cost?.completedSagas ?? e2e.sagas.completed,
  );
}

/** The saturation window of a run: CPU over it, divided by the sagas completed in it. */
export function saturationCost(report: BenchReport): ComponentCost | undefined {
  const completed = report.saturation?.cost?.completedSagas ?? 0;
  if (!report.intake) return undefined;
  return componentCost(report.intake.resources, report.meta.services, completed);
}

/** A fixed-rate window counts when it completed at least this share of the offered rate. */
const sustainedShare = 0.9;

const saturationCostOf = (report: BenchReport) => report.saturation?.cost;
const fixedRateCostOf = (report: BenchReport) => report.e2eFixed?.cost;

/** How one service's CPU in a window divided between its replicas (shares in %). */
export function replicaShares(resources: PhaseResources, service: string): number[] {
  const rows = resources.processes
    .filter((p) => serviceOf(p.label) === service)
    .map((p) => ({ replica: Number(/#(\d+)$/.exec(p.label)?.[1] ?? 1), cpu: p.cpuSeconds }))
    .sort((a, b) => a.replica - b.replica);
  const total = rows.reduce((a, r) => a + r.cpu, 0);
  return rows.map((r) => (total > 0 ? Math.round((r.cpu / total) * 100) : 0));
}

const mean = (values: readonly number[]) =>
  values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
const n = (v: number | undefined, digits = 2) =>
  v === undefined || Number.isNaN(v)
    ? 'n/a'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits });
const change = (before: number, after: number) =>
  Number.isFinite(before) && Number.isFinite(after) && before > 0
    ? `${after >= before ? '+' : ''}${n(after - before)} ms (${after >= before ? '+' : ''}${Math.round(((after - before) / before) * 100)} %)`
    : 'n/a';

function runLabel(run: ScalingRun): string {
  return `${run.replicas} × (run ${run.attempt})`;
}

/** One side-by-side table: a column per run, then the mean per configuration and the change. */
function costTable(
  runs: readonly ScalingRun[],
  costOf: (report: BenchReport) => ComponentCost | undefined,
  services: readonly string[],
  configurations: readonly number[],
  offeredRate?: (run: ScalingRun) => number,
): string[] {
  // A fixed-rate window the system did not keep up with measured an overloaded system, not the
  // offered load: it is shown, marked, and left out of the means.
  const sustained = runs.map((r) => {
    const cost = costOf(r.report);
    if (!offeredRate || !cost) return true;
    return cost.completedSagas / cost.windowSeconds >= sustainedShare * offeredRate(r);
  });
  const costs = runs.map((r, i) => (sustained[i] ? costOf(r.report) : undefined));
  const shown = runs.map((r) => costOf(r.report));
  const components = [...services, postgresComponent, postgresSharedComponent, natsComponent];
  const first = configurations[0] ?? 1;
  const last = configurations[configurations.length - 1] ?? first;
  const meanOf = (replicas: number, pick: (c: ComponentCost) => number) =>
    mean(
      runs
        .map((r, i) => (r.replicas === replicas ? costs[i] : undefined))
        .filter((c): c is ComponentCost => c !== undefined)
        .map(pick),
    );
  const header = [
    '| component (ms of CPU per completed saga) |',
    ...runs.map(
      (r, i) => ` ${runLabel(r)}${sustained[i] ? '' : ' — not sustained, not in the mean'} |`,
    ),
    ...configurations.map((c) => ` mean, ${c} × |`),
    ` change ${first} × → ${last} × |`,
  ].join('');
  const rule = `|---|${runs.map(() => '---|').join('')}${configurations.map(() => '---|').join('')}---|`;
  const row = (label: string, pick: (c: ComponentCost) => number, digits = 2, bold = false) => {
    const b = (s: string) => (bold ? `**${s}**` : s);
    const means = configurations.map((c) => meanOf(c, pick));
    return `| ${b(label)} | ${shown.map((c) => (c ? b(n(pick(c), digits)) : 'n/a')).join(' | ')} | ${means.map((m) => b(n(m, digits))).join(' | ')} | ${digits === 2 ? change(means[0] ?? NaN, means[means.length - 1] ?? NaN) : ''} |`;
  };
  const services$ = (c: ComponentCost) => services.reduce((a, s) => a + (c.msPerSaga[s] ?? 0), 0);
  const databases = services.filter((s) =>
    shown.some((c) => c?.postgresByService[s] !== undefined),
  );
  const postgresParts = databases.map((s) =>
    row(`  of which ${s}’s database`, (c) => c.postgresByService[s] ?? NaN),
  );
  return [
    header,
    rule,
    ...components.flatMap((k) => [
      row(k, (c) => c.msPerSaga[k] ?? NaN),
      ...(k === postgresComponent ? postgresParts : []),
    ]),
    row('services (sum)', services$),
    row('sum', (c) => c.totalMsPerSaga, 2, true),
    row('completed sagas in the window', (c) => c.completedSagas, 0),
    row('completed sagas/s', (c) => c.completedSagas / c.windowSeconds, 0),
    row('other work on the machine, CPU s', (c) => c.otherCpuSeconds, 1),
    row('machine busy, %', (c) => c.machineBusyPercent, 0),
  ];
}

/** The Markdown of a scaling run. */
export function scalingMarkdown(
  runs: readonly ScalingRun[],
  context: {
    readonly command: string;
    readonly fixedRate: number;
    /** same: every configuration gets `fixedRate`; perReplica: `fixedRate` × its replicas. */
    readonly load: 'same' | 'perReplica';
    readonly startedAt: string;
  },
): string {
  const first = runs[0]?.report;
  if (!first) return '# Orderly scaling benchmark\n\nNo run completed.\n';
  const services = first.meta.services;
  const configurations = [...new Set(runs.map((r) => r.replicas))].sort((a, b) => a - b);
  const m = first.meta;
  const md: string[] = [];
  md.push(`# Orderly scaling benchmark — ${context.startedAt.slice(0, 16).replace('T', ' ')} UTC`);
  md.push('');
  md.push(
    `\`${context.command}\`; commit ${m.commit}${m.dirty ? ' (dirty tree: work in progress of others sharing it; the bench and the services ran from it)' : ', clean tree'}; ${m.cpus} × ${m.cpuModel}, ${m.memoryGB} GB, Node ${m.node}; PostgreSQL ${m.postgres.server_version ?? '?'} (fsync ${m.postgres.fsync ?? '?'}, synchronous_commit ${m.postgres.synchronous_commit ?? '?'}). ` +
      `Each column is a fresh distributed system (services from the production bundles, trace sampling ${m.samplingRatio ?? 'from configuration'}, NATS: ${m.nats ?? 'its own nats-server'}), with ${configurations.join(' or ')} process(es) per service. ` +
      'Replicas share their service’s database, stream and durable consumers (they compete for deliveries; relays claim with SKIP LOCKED) and each listens on its own port; gateway replica n calls replica n of order, inventory and identity, and the load generator opens its connections to the gateway replicas in turn. ' +
      'Runs alternate between the configurations, so slow drift of the shared machine falls on both. A service’s figure is the sum over its replicas; CPU is /proc time of each process over the window. As in every bench run, the gateway’s rate limits are lifted and access tokens live 4 h.',
  );
  md.push('');
  for (const replicas of configurations) {
    const set = runs.find((r) => r.replicas === replicas)?.settings ?? {};
    if (Object.keys(set).length > 0)
      md.push(
        `**${replicas} × ran with** ${Object.entries(set)
          .map(([path, value]) => `\`${path}=${value}\``)
          .join(', ')} (every other value as configured).`,
        '',
      );
  }
  md.push(
    context.load === 'same'
      ? `## The same offered load: ${context.fixedRate} orders/s, open loop`
      : `## The same load per replica: ${context.fixedRate} orders/s per process of each service, open loop (${configurations.map((c) => `${c} × → ${c * context.fixedRate}/s`).join(', ')})`,
  );
  md.push('');
  md.push(
    `CPU over the ${Math.round(first.e2eFixed?.http.windowSeconds ?? 0)} s window divided by the sagas completed (CONFIRMED and notified) in it.` +
      (context.load === 'perReplica'
        ? ' Each replica sees the load one process sees in the 1 × column, as when replicas are added because the load grew: consumer batches and group commits carry as many events per replica as before.'
        : ''),
  );
  md.push('');
  const offered = (run: ScalingRun) =>
    context.load === 'same' ? context.fixedRate : context.fixedRate * run.replicas;
  md.push(...costTable(runs, fixedRateCost, services, configurations, offered));
  md.push('');
  md.push(
    `A column marked “not sustained” completed fewer than ${sustainedShare * 100} % of the offered sagas per second in its window (the shared machine was too busy for that system): it measured an overloaded system, so it is shown but left out of the means.`,
  );
  md.push('');
  if (runs.some((r) => r.report.e2eFixed?.cost)) {
    md.push(...countersTable(runs, fixedRateCostOf, services));
    md.push('');
  }
  if (runs.some((r) => r.report.intake)) {
    md.push(
      `## Saturation: ${first.intake?.connections ?? 'n/a'} connections, closed loop (how the 7.76 ms of the full run was measured)`,
    );
    md.push('');
    md.push(...costTable(runs, saturationCost, services, configurations));
    md.push('');
    md.push(...countersTable(runs, saturationCostOf, services));
    md.push('');
  }
  const multi = runs.filter((r) => r.replicas > 1);
  if (multi.length > 0) {
    md.push('## How the replicas shared the work');
    md.push('');
    md.push(
      `Share of each service’s CPU per replica ${first.intake ? 'at saturation' : 'at the fixed rate'} (replica 1 / replica 2 / …): the replicas consume from the same durable consumers, so each takes part of every subscription.`,
    );
    md.push('');
    md.push(`| run | ${services.join(' | ')} |`);
    md.push(`|---|${services.map(() => '---|').join('')}`);
    for (const run of multi) {
      const resources = (run.report.intake ?? run.report.e2eFixed?.http)?.resources;
      md.push(
        `| ${runLabel(run)} | ${services.map((s) => (resources ? replicaShares(resources, s).join(' / ') : 'n/a')).join(' | ')} |`,
      );
    }
    md.push('');
  }
  md.push('## Runs');
  md.push('');
  md.push('| run | started | commit | load average at start | at end | invariants | notes |');
  md.push('|---|---|---|---|---|---|---|');
  for (const run of runs) {
    const r = run.report;
    const invariants = r.invariants
      ? r.invariants.ok
        ? `hold (${r.invariants.orders.toLocaleString('en-US')} orders, ${r.invariants.confirmed.toLocaleString('en-US')} confirmed)`
        : `BROKEN: ${r.invariants.problems.join('; ')}`
      : 'not checked';
    md.push(
      `| ${runLabel(run)} | ${r.meta.startedAt.slice(11, 19)} | ${r.meta.commit.slice(0, 8)}${r.meta.dirty ? ' (dirty)' : ''} | ${r.meta.loadAverageAtStart.join(' / ')} | ${r.meta.loadAverageAtEnd?.join(' / ') ?? 'n/a'} | ${invariants} | ${notesOf(r)} |`,
    );
  }
  md.push('');
  return `${md.join('\n')}\n`;
}

/** Statements, transactions and bus hops per completed saga of one window, a row per run. */
function countersTable(
  runs: readonly ScalingRun[],
  costOf: (report: BenchReport) => SagaCost | undefined,
  services: readonly string[],
): string[] {
  const md: string[] = [
    'Per completed saga in the same window, from PostgreSQL’s and JetStream’s own counters: statements (`pg_stat_statements`), transactions (`pg_stat_database.xact_commit`; fewer per saga = more events per consumer batch, group commit or relay mark) and bus publishes and deliveries.',
    '',
  ];
  const perSaga = (report: BenchReport, service: string) => {
    const cost = costOf(report);
    const statements =
      cost && 'byDatabase' in cost.statements
        ? cost.statements.byDatabase.find((d) => d.service === service)?.perSaga
        : undefined;
    const commits =
      cost?.commits && 'byDatabase' in cost.commits
        ? cost.commits.byDatabase.find((d) => d.service === service)?.perSaga
        : undefined;
    return statements === undefined && commits === undefined ? undefined : { statements, commits };
  };
  const dbServices = services.filter((s) => runs.some((r) => perSaga(r.report, s) !== undefined));
  md.push(
    `| run | statements | transactions | ${dbServices.map((s) => `${s}: statements / transactions`).join(' | ')} | publishes | deliveries | accepted orders/s | intake p99 ms |`,
  );
  md.push(`|---|---|---|${dbServices.map(() => '---|').join('')}---|---|---|---|`);
  for (const run of runs) {
    const cost = costOf(run.report);
    const statements =
      cost && 'perSaga' in cost.statements ? n(cost.statements.perSaga, 1) : 'not measured';
    const commits =
      cost?.commits && 'perSaga' in cost.commits ? n(cost.commits.perSaga, 2) : 'not measured';
    const bus = cost && 'publishesPerSaga' in cost.bus ? cost.bus : undefined;
    const http = costOf === saturationCostOf ? run.report.intake : run.report.e2eFixed?.http;
    md.push(
      `| ${runLabel(run)} | ${statements} | ${commits} | ${dbServices
        .map((s) => {
          const v = perSaga(run.report, s);
          return `${n(v?.statements, 1)} / ${n(v?.commits, 2)}`;
        })
        .join(
          ' | ',
        )} | ${n(bus?.publishesPerSaga, 1)} | ${n(bus?.deliveriesPerSaga, 1)} | ${n(http?.acceptedPerSecond, 0)} | ${n(http?.latencyMs.p99, 0)} |`,
    );
  }
  return md;
}

/** A run's notes, less the one every bench run has (the settings it lifts: rate limits, token lifetime). */
function notesOf(report: BenchReport): string {
  const notes = report.notes.filter((note) => !note.startsWith('settings changed for the run'));
  return notes.join('; ').replace(/\|/g, '/') || '—';
}
