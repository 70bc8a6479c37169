import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { DeadLetter } from '@orderly/platform';
import { BusInjection } from './bus-injection.js';
import { clientView, type ClientView } from './client-view.js';
import { ClusterDrillEnvironment } from './cluster/cluster-environment.js';
import { checkPublishedEventsStored, type DurabilityCheck } from './cluster/durability.js';
import { expandSteps, type Drill } from './drill-file.js';
import { DrillEnvironment } from './environment.js';
import { FaultInjection, type FaultRecord } from './faults.js';
import { waitForInvariants, type InvariantReport } from './invariants.js';
import { createCatalog, LoadGenerator, type LoadStats } from './load.js';
import { repoRoot } from './service-processes.js';

/**
 * Runs one drill: the environment (its own PostgreSQL and NATS, proxies, one process per service),
 * the load, the fault schedule beside it, then waits for the system to heal and checks every
 * invariant. Returns the report; never throws for a broken invariant (the report says so), only
 * when the system cannot be set up.
 */
export type { FaultRecord } from './faults.js';

export interface DrillReport {
  readonly drill: string;
  readonly description: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: { cpus: number; memoryGiB: number; node: string };
  /** The commit the drill ran on (`git rev-parse HEAD`) and whether the working tree differed from it. */
  readonly commit: { readonly sha: string; readonly dirty: boolean | undefined };
  readonly load: LoadStats & { ratePerSecond: number; durationSeconds: number };
  readonly faults: FaultRecord[];
  readonly faultCounts: Record<string, number>;
  readonly unexpectedExits: {
    service: string;
    code: number | null;
    signal: string | null;
    atSeconds: number;
  }[];
  readonly heal: {
    boundSeconds: number;
    healedAfterMs: number | undefined;
    lastFaultHealedAtSeconds: number;
    loadEndedAtSeconds: number;
  };
  readonly outcome: {
    orders: number;
    confirmed: number;
    cancelled: Record<string, number>;
    open: number;
  };
  readonly deadLetters: { total: number; injectedPoison: number };
  readonly invariants: InvariantReport['invariants'];
  /** Broken invariants' rows, plus acknowledged publishes missing from the stream (cluster drills). */
  readonly violations: number;
  /** What the clients saw during each fault and outside them (absent in reports of older runs). */
  readonly clients?: ClientView;
  /** Cluster drills: every published outbox row is stored in the replicated stream. */
  readonly durability?: DurabilityCheck;
  /** Graceful stop of every service at the end (SIGTERM): their exit codes. */
  readonly finalExitCodes: Record<string, number | null>;
  /** Every invariant held (or was waived with a reason) and every service stopped with 0. */
  readonly ok: boolean;
  /**
   * What makes a pass weaker: faults that could not be injected, service exits the drill did not
   * cause, invariants waived. `PASSED with warnings` when there are any; main exits 3 then.
   */
  readonly warnings: string[];
  readonly verdict: 'PASSED' | 'PASSED with warnings' | 'FAILED';
  readonly refusals: string[];
}

export interface RunOptions {
  /** Where the services' output goes (outside the repository); none when absent. */
  readonly serviceLog?: string;
  readonly log?: (line: string) => void;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** HEAD and whether the tree has changes (tracked or untracked); `unknown` outside a git checkout. */
export function gitCommit(cwd: string = repoRoot): DrillReport['commit'] {
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    const sha = git('rev-parse', 'HEAD');
    try {
      return { sha, dirty: git('status', '--porcelain', '--untracked-files=normal').length > 0 };
    } catch {
      return { sha, dirty: undefined };
    }
  } catch {
    return { sha: 'unknown', dirty: undefined };
  }
}

/** The warnings of a drill that may otherwise pass (see DrillReport.warnings). */
export function drillWarnings(
  faults: readonly FaultRecord[],
  unexpectedExits: DrillReport['unexpectedExits'],
  invariants: InvariantReport['invariants'],
): string[] {
  const warnings: string[] = [];
  const failed = faults.filter((f) => f.error !== undefined);
  if (failed.length > 0) {
    warnings.push(
      `${failed.length} fault${failed.length === 1 ? '' : 's'} not injected (${failed.map((f) => `#${f.index} ${f.fault}: ${f.error}`).join('; ')})`,
    );
  }
  if (unexpectedExits.length > 0) {
    warnings.push(
      `${unexpectedExits.length} unexpected exit${unexpectedExits.length === 1 ? '' : 's'} (${unexpectedExits.map((e) => `${e.service} at ${e.atSeconds} s, ${e.code ?? e.signal}`).join('; ')})`,
    );
  }
  const waived = invariants.filter((i) => i.waived !== undefined);
  if (waived.length > 0)
    warnings.push(
      `${waived.length} invariant${waived.length === 1 ? '' : 's'} waived (${waived.map((i) => `${i.name}: ${i.waived}`).join('; ')})`,
    );
  return warnings;
}

export async function runDrill(drill: Drill, options: RunOptions = {}): Promise<DrillReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const startedAt = new Date();
  const commit = gitCommit();
  const env = drill.topology
    ? ClusterDrillEnvironment.create(drill)
    : await DrillEnvironment.create(drill);
  // Interrupted (Ctrl-C, a CI timeout): stop the drill's services, NATS and PostgreSQL rather than
  // leaving them running on their ports after the drill itself is gone.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`  ${signal}: stopping the drill's processes`);
    void env.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    log(`▶ drill ${drill.name}: ${drill.description}`);
    log(
      `  on commit ${commit.sha}${commit.dirty ? ' with uncommitted changes' : commit.dirty === undefined ? ' (tree state unknown)' : ''}`,
    );
    log(
      `  work dir ${env.workDir}${options.serviceLog ? `; service output → ${options.serviceLog}` : ''}`,
    );
    if (env instanceof ClusterDrillEnvironment) await env.start(options.serviceLog, log);
    else await env.start(options.serviceLog);
    log(`  ${env.describe()}`);
    const gatewayUrl = env.gatewayUrl;
    const stockAtStart = await createCatalog(gatewayUrl, env.admin, drill.stock);
    const load = new LoadGenerator({
      gatewayUrl,
      customers: drill.load.customers,
      maxInFlight: drill.load.maxInFlight,
      requestTimeoutMs: drill.load.requestTimeoutMs,
      giveUpAfterMs: drill.load.giveUpAfterSeconds * 1000,
      password: `chaos-customer-${randomBytes(6).toString('hex')}`,
    });
    if (drill.load.clientVersions) load.setClientVersions(drill.load.clientVersions);
    await load.prepare();
    log(`  catalog ${JSON.stringify(stockAtStart)}; ${drill.load.customers} customers logged in`);

    const sql = env.sql.bind(env);
    const bus = new BusInjection(() => env.natsServers, env.duplicateWindowMs, sql);
    const t0 = Date.now();
    const since = () => ((Date.now() - t0) / 1000).toFixed(1);
    const faults = new FaultInjection(env, bus, load, log, since);

    // The schedule runs beside the load; every step starts at its time.
    const injections = expandSteps(drill.steps).map(({ step, at, index }) =>
      new Promise((resolve) => setTimeout(resolve, at * 1000)).then(() =>
        faults.inject(step, index, at),
      ),
    );
    let lastProgress = 0;
    const progress = () => {
      if (Date.now() - lastProgress < 5000) return;
      lastProgress = Date.now();
      const s = load.stats;
      log(
        `  [${since()} s] offered ${s.offered} accepted ${s.accepted} open ${load.open} retries ${s.retries} shed ${s.shed} ${JSON.stringify(s.byStatus)}`,
      );
    };
    await load.run(drill.load.ratePerSecond, drill.load.durationSeconds * 1000, progress);
    log(`  [${since()} s] load stopped; waiting for open requests and the remaining faults`);
    await Promise.all(injections);
    await load.settle();
    const loadEndedAt = Date.now();
    const healFrom = Math.max(faults.lastHealedAt, loadEndedAt);
    log(
      `  [${since()} s] all faults healed; ${load.stats.accepted} orders accepted; waiting for the system to settle (bound ${drill.healBoundSeconds} s)`,
    );

    let deadLetters: DeadLetter[] = [];
    let lastLog = 0;
    const { report, heldAfterMs } = await waitForInvariants(
      sql,
      {
        stockAtStart,
        acceptedIds: load.acceptedIds,
        sentIdempotencyKeys: load.sentKeys,
        // Read at each check: the list is refreshed before it.
        get deadLetters() {
          return deadLetters;
        },
        explainedEventIds: bus.poisonIds,
        // The notification service's file sink (services.notification.outputFile under dataDir).
        notificationOutputFile: join(env.workDir, 'notifications.jsonl'),
      },
      {
        timeoutMs: Math.max(0, drill.healBoundSeconds * 1000 - (Date.now() - healFrom)),
        intervalMs: 1000,
        beforeCheck: async () => {
          deadLetters = await bus.deadLetters();
        },
        onCheck: (r) => {
          if (r.ok || Date.now() - lastLog < 5000) return;
          lastLog = Date.now();
          log(`  [${since()} s] not yet: ${r.problems.map((p) => p.slice(0, 120)).join(' | ')}`);
        },
      },
    );
    const healedAfterMs = heldAfterMs === undefined ? undefined : Date.now() - healFrom;
    log(
      `  [${since()} s] ${report.ok ? `healed: every invariant holds ${healedAfterMs} ms after the last fault` : `NOT HEALED within ${drill.healBoundSeconds} s`}`,
    );

    const durability =
      env instanceof ClusterDrillEnvironment
        ? await checkPublishedEventsStored(sql, env.natsServers, env.topology.streamReplicas)
        : undefined;
    if (durability)
      log(
        `  [${since()} s] ${durability.published} published outbox rows, ${durability.missing} missing from the stream, ${durability.storedTwice} stored twice (stream R${durability.streamReplicas})`,
      );
    const finalExitCodes = await env.stopAll();
    const graceful = Object.values(finalExitCodes).every((code) => code === 0);
    if (!graceful) log(`  graceful stop exit codes: ${JSON.stringify(finalExitCodes)}`);
    const faultCounts: Record<string, number> = {};
    for (const f of faults.records) faultCounts[f.fault] = (faultCounts[f.fault] ?? 0) + 1;
    const unexpectedExits = env.unexpectedExits.map((e) => ({
      service: e.service,
      code: e.code,
      signal: e.signal,
      atSeconds: seconds(e.at - t0),
    }));
    const warnings = drillWarnings(faults.records, unexpectedExits, report.invariants);
    const unmet = faults.records.filter((f) => f.expectation && !f.expectation.met);
    for (const f of unmet) log(`  expectation #${f.index} not met: ${f.detail ?? ''}`);
    const ok = report.ok && graceful && (durability?.missing ?? 0) === 0 && unmet.length === 0;
    for (const w of warnings) log(`  warning: ${w}`);
    return {
      drill: drill.name,
      description: drill.description,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      commit,
      load: {
        ...load.stats,
        ratePerSecond: drill.load.ratePerSecond,
        durationSeconds: drill.load.durationSeconds,
      },
      faults: faults.records.sort((a, b) => a.index - b.index),
      faultCounts,
      unexpectedExits,
      heal: {
        boundSeconds: drill.healBoundSeconds,
        healedAfterMs,
        lastFaultHealedAtSeconds: seconds(faults.lastHealedAt - t0),
        loadEndedAtSeconds: seconds(loadEndedAt - t0),
      },
      outcome: {
        orders: report.orders,
        confirmed: report.confirmed,
        cancelled: report.cancelled,
        open: report.open,
      },
      deadLetters: { total: deadLetters.length, injectedPoison: bus.poisonIds.size },
      invariants: report.invariants,
      violations:
        report.invariants.reduce((n, i) => n + i.violations, 0) + (durability?.missing ?? 0),
      clients: await clientView(load, faults.records, t0, sql).catch(() => undefined),
      ...(durability ? { durability } : {}),
      finalExitCodes,
      ok,
      warnings,
      verdict: !ok ? 'FAILED' : warnings.length > 0 ? 'PASSED with warnings' : 'PASSED',
      refusals: load.refusals,
    };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await env.close();
  }
}
