import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchReport } from './report-types.js';
import {
  fixedRateCost,
  saturationCost,
  scalingMarkdown,
  type ScalingRun,
} from './report/scaling-report.js';
import { defaultConfig, hasPath, repoRoot, settingEnvName } from './system.js';

/**
 * `npm run bench:scaling`: does CPU per saga stay flat when every service runs as more processes?
 * Runs `npm run bench -- --quick --only e2e,intake,invariants --own-nats --replicas <n>` for each
 * configuration, alternating them (1, 2, 1, 2, …) so drift of the shared machine falls on both, and
 * writes the runs side by side to bench/results/<date>-<commit>-scaling.{md,json}. With
 * --per-replica the offered rate grows with the replicas (the load each process sees stays the same).
 */
const usage = `npm run bench:scaling -- [flags]

  --replicas 1,2     process counts per service to compare (default 1,2)
  --repeat <n>       runs of each configuration, alternating (default 2)
  --rate <n>         the fixed offered rate, orders/s, of the same-load window (default 120: half of
                     the full run's saturation, where its telemetry table measured 15.2 ms per saga)
  --per-replica      offer --rate × replicas instead (each replica sees what one process sees alone),
                     and skip the saturation part
  --nats-cluster <n> run every system on a JetStream cluster of n nats-servers of its own, streams
                     replicated n times (default: one nats-server of its own)
  --set <n>:<path>=<value>  a configuration value for the systems with n processes per service only
                     (repeatable), e.g. --set 2:bus.consumerBatch.maxInFlight=1
  --duration <s>     measured window of the fixed-rate and saturation parts (default 30)
  --connections <n>  connections of the saturation part (default 500)
  --smoke            tiny windows (proves the pipeline; writes to a temporary folder)
  --out <dir>        where to write the report (default bench/results)
  --help             print this and exit
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}`);
  process.exit(2);
}

function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (!Number.isInteger(v) || v <= 0) fail(`--${flag} must be a positive integer, not ${value}`);
  return v;
}

const log = (message: string) =>
  process.stdout.write(`[scaling ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function runBench(args: readonly string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/src/main.ts', ...args], {
      cwd: repoRoot,
      // Configuration values of this configuration only, as ORDERLY_* variables the services inherit.
      env: { ...process.env, ...env },
      stdio: 'inherit',
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      if (code === 0) resolve();
      else reject(new Error(`npm run bench -- ${args.join(' ')} exited with ${code ?? signal}`));
    });
  });
}

async function main(): Promise<void> {
  let values;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: false,
      options: {
        replicas: { type: 'string' },
        repeat: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        connections: { type: 'string' },
        smoke: { type: 'boolean' },
        'per-replica': { type: 'boolean' },
        'nats-cluster': { type: 'string' },
        set: { type: 'string', multiple: true },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  const configurations = (values.replicas ?? '1,2')
    .split(',')
    .map((v) => positiveInt('replicas', v.trim(), 1));
  if (configurations.length < 2) fail('--replicas needs at least two configurations, e.g. 1,2');
  const smoke = values.smoke ?? false;
  const repeat = positiveInt('repeat', values.repeat, smoke ? 1 : 2);
  const rate = positiveInt('rate', values.rate, smoke ? 30 : 120);
  const duration = positiveInt('duration', values.duration, smoke ? 3 : 30);
  const connections = positiveInt('connections', values.connections, smoke ? 32 : 500);
  const perReplica = values['per-replica'] ?? false;
  const settings = new Map<number, Record<string, string>>();
  for (const item of values.set ?? []) {
    const match = /^(\d+):([A-Za-z0-9.]+)=(.*)$/.exec(item);
    if (!match) fail(`--set takes <replicas>:<path>=<value>, not ${item}`);
    const [, replicas = '', path = '', value = ''] = match;
    if (!hasPath(defaultConfig(), path)) fail(`--set: config/default.yaml has no ${path}`);
    settings.set(Number(replicas), { ...settings.get(Number(replicas)), [path]: value });
  }
  const natsCluster =
    values['nats-cluster'] === undefined
      ? undefined
      : positiveInt('nats-cluster', values['nats-cluster'], 3);
  const outDir =
    values.out ??
    (smoke
      ? mkdtempSync(join(tmpdir(), 'orderly-bench-scaling-'))
      : join(repoRoot, 'bench/results'));
  const startedAt = new Date().toISOString();
  const work = mkdtempSync(join(tmpdir(), 'orderly-bench-scaling-runs-'));
  const runs: ScalingRun[] = [];
  try {
    for (let attempt = 1; attempt <= repeat; attempt++) {
      for (const replicas of configurations) {
        const runDir = join(work, `${replicas}-${attempt}`);
        mkdirSync(runDir, { recursive: true });
        log(`run ${attempt} of ${repeat}: ${replicas} process(es) per service`);
        const own = settings.get(replicas) ?? {};
        await runBench(
          [
            smoke ? '--smoke' : '--quick',
            '--only',
            perReplica ? 'e2e,invariants' : 'e2e,intake,invariants',
            ...(natsCluster ? ['--nats-cluster', String(natsCluster)] : ['--own-nats']),
            '--replicas',
            String(replicas),
            '--e2e-rate',
            String(perReplica ? rate * replicas : rate),
            '--duration',
            String(duration),
            '--connections',
            String(connections),
            '--out',
            runDir,
          ],
          Object.fromEntries(Object.entries(own).map(([path, v]) => [settingEnvName(path), v])),
        );
        const json = readdirSync(runDir).find((f) => f.endsWith('.json'));
        if (!json) throw new Error(`the bench wrote no report to ${runDir}`);
        const report = JSON.parse(readFileSync(join(runDir, json), 'utf8')) as BenchReport;
        runs.push({ replicas, attempt, report, settings: own });
        const fixed = fixedRateCost(report);
        const saturated = saturationCost(report);
        log(
          `  ${replicas} ×: ${fixed?.totalMsPerSaga ?? 'n/a'} ms per saga at ${perReplica ? rate * replicas : rate}/s${saturated ? `, ${saturated.totalMsPerSaga} ms at saturation (${report.saturation?.sustainedSagasPerSecond ?? 'n/a'} sagas/s)` : ''}`,
        );
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const args = process.argv.slice(2);
  const command = `npm run bench:scaling${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  const markdown = scalingMarkdown(runs, {
    command,
    fixedRate: rate,
    load: perReplica ? 'perReplica' : 'same',
    startedAt,
  });
  const commit = gitCommit();
  const dirty = runs.some((r) => r.report.meta.dirty);
  const base = `${startedAt.slice(0, 16).replace(/[:T]/g, '-')}-${commit.slice(0, 8)}${dirty ? '-dirty' : ''}-scaling${perReplica ? '-per-replica' : ''}${natsCluster ? `-nats${natsCluster}` : ''}${smoke ? '-smoke' : ''}`;
  mkdirSync(outDir, { recursive: true });
  const jsonFile = join(outDir, `${base}.json`);
  const mdFile = join(outDir, `${base}.md`);
  writeFileSync(
    jsonFile,
    `${JSON.stringify(
      {
        command,
        startedAt,
        fixedRate: rate,
        load: perReplica ? 'per replica' : 'same',
        durationSeconds: duration,
        connections,
        // Each run's figures as the tables use them, and the run's whole bench report.
        runs: runs.map((r) => ({
          replicas: r.replicas,
          attempt: r.attempt,
          fixedRate: fixedRateCost(r.report) ?? null,
          saturation: saturationCost(r.report) ?? null,
          report: r.report,
        })),
      },
      null,
      1,
    )}\n`,
  );
  writeFileSync(mdFile, markdown);
  log(`wrote ${mdFile}\n      ${jsonFile}`);
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench:scaling failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
