import { performance } from 'node:perf_hooks';
import {
  loadConfigDocument,
  openIdentity,
  operatorWorkload,
  parseConfigSection,
  platformConfigSchema,
  type ServiceResources,
  type WorkloadIdentity,
} from '@orderly/platform';
import { serviceNames } from '@orderly/system';
import { parseCommand, usageFailure, type CommandIo } from './command-line.js';
import { doctorCommand } from './commands.js';
import {
  analyze,
  count,
  formatSeconds,
  processKey,
  renderReport,
  type DoctorInput,
  type Poll,
  type Round,
} from './doctor-report.js';
import { isKnownService, operatorTarget, type OperatorTarget } from './operator-ports.js';

/**
 * `orderly doctor`: polls `GET /admin/debug/resources` on every service's operator port (the
 * services of `@orderly/system`, or those named with `--service`; their host and `operatorPort` from
 * the configuration) as the operator workload, for `--duration`, every `--interval`, and reports what
 * grew (doctor-report.ts) against `doctor.thresholds`. Exit 0 healthy, 1 something grows or a service
 * cannot be polled, 2 a usage error. The same for the embedded mode (one process, several services)
 * and the distributed one.
 */
export interface DoctorEnvironment {
  /** Whether stdout is a terminal: `--watch` then redraws in place. */
  readonly terminal: boolean;
  /** Calls `handler` on Ctrl-C (ends a `--watch` run with its verdict); returns the unsubscribe. */
  onInterrupt(handler: () => void): () => void;
}

export const processEnvironment: DoctorEnvironment = {
  terminal: process.stdout.isTTY,
  onInterrupt: (handler) => {
    process.once('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
};

const clearScreen = '\x1b[H\x1b[2J';

export async function runDoctor(
  argv: readonly string[],
  io: CommandIo,
  environment: DoctorEnvironment = processEnvironment,
): Promise<number> {
  const spec = doctorCommand;
  const args = parseCommand(spec, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const document = loadConfigDocument({ argv: args.configArgv });
  const platform = parseConfigSection(platformConfigSchema, document.document);
  const settings = platform.doctor;
  const durationMs =
    args.values.duration === undefined ? settings.durationMs : parseDuration(args.values.duration);
  const intervalMs =
    args.values.interval === undefined ? settings.intervalMs : parseDuration(args.values.interval);
  if (durationMs === undefined)
    return usageFailure(
      spec,
      `--duration '${args.values.duration}' is not a time like 20s, 1500ms or 2m`,
      io,
    );
  if (intervalMs === undefined)
    return usageFailure(
      spec,
      `--interval '${args.values.interval}' is not a time like 2s or 500ms`,
      io,
    );
  const names = args.values.service ?? [...serviceNames];
  const unknown = names.find((name) => !isKnownService(name));
  if (unknown !== undefined)
    return usageFailure(
      spec,
      `unknown service '${unknown}' (one of ${serviceNames.join(', ')})`,
      io,
    );

  const targets: OperatorTarget[] = [];
  for (const name of names) {
    const target = operatorTarget(document, name);
    if ('problem' in target) {
      io.err(`orderly doctor: ${target.problem}\n`);
      return 1;
    }
    targets.push(target);
  }

  const identity = await openIdentity(operatorWorkload, platform);
  const poll = (target: OperatorTarget, gc: boolean) =>
    pollService(target, gc, identity, settings.requestTimeoutMs);
  const pollRound = async (atMs: number): Promise<Round> => {
    const answers = await Promise.all(targets.map((t) => poll(t, false)));
    return { atMs, polls: Object.fromEntries(targets.map((t, i) => [t.name, answers[i]!])) };
  };
  /** Heap used after a full GC, once per process (one of its services is asked). */
  const heapAfterGc = async (round: Round): Promise<Record<string, number>> => {
    const asked = new Map<string, OperatorTarget>();
    for (const target of targets) {
      const polled = round.polls[target.name];
      if (polled && 'resources' in polled && !asked.has(processKey(polled.resources)))
        asked.set(processKey(polled.resources), target);
    }
    const heaps: Record<string, number> = {};
    for (const [key, target] of asked) {
      const answer = await poll(target, true);
      if ('resources' in answer && answer.resources.heap.afterFullGc)
        heaps[key] = answer.resources.heap.usedBytes;
    }
    return heaps;
  };

  const watch = args.values.watch === true;
  // --watch without --duration runs until Ctrl-C.
  const rounds =
    watch && args.values.duration === undefined
      ? Number.POSITIVE_INFINITY
      : Math.max(2, Math.floor(durationMs / intervalMs) + 1);
  const interrupted = new AbortController();
  const stopListening = environment.onInterrupt(() => interrupted.abort());
  const every = formatSeconds(intervalMs);
  const input: { -readonly [K in keyof DoctorInput]: DoctorInput[K] } = {
    services: names,
    rounds: [],
    heapAfterGc: { start: {}, end: {} },
    thresholds: settings.thresholds,
  };
  const header = (final: boolean) => {
    const report = analyze(input);
    const what = `${count(names.length, 'service')} in ${count(report.processes.length, 'process', 'processes')}, ${count(report.samples, 'sample')} over ${formatSeconds(report.spanMs)} (every ${every})`;
    return final
      ? `orderly doctor: ${what}`
      : `orderly doctor --watch: ${what}; Ctrl-C ends the run with its verdict`;
  };
  try {
    if (!watch)
      io.err(
        `orderly doctor: polling ${count(names.length, 'service')} every ${every} for ${formatSeconds((rounds - 1) * intervalMs)}\n`,
      );
    const started = performance.now();
    for (let i = 0; i < rounds && !interrupted.signal.aborted; i++) {
      if (i > 0) await sleepUntil(started + i * intervalMs, interrupted.signal);
      if (interrupted.signal.aborted) break;
      const round = await pollRound(Math.round(performance.now() - started));
      input.rounds = [...input.rounds, round];
      if (i === 0) {
        const unreachable = targets.filter((t) => 'error' in round.polls[t.name]!);
        if (unreachable.length > 0) {
          io.err(
            `orderly doctor: cannot poll every service's operator port:\n${unreachable
              .map(
                (t) =>
                  `  ${t.name} at ${t.url}: ${(round.polls[t.name] as { error: string }).error}\n`,
              )
              .join(
                '',
              )}Is the system running (npm start, or npm run start:distributed)? Ports come from services.<svc>.operatorPort.\n`,
          );
          return 1;
        }
        input.heapAfterGc = { start: await heapAfterGc(round), end: {} };
      }
      if (watch)
        io.out(
          `${environment.terminal ? clearScreen : ''}${renderReport(analyze(input), header(false), { final: false })}`,
        );
    }
    const last = input.rounds[input.rounds.length - 1]!;
    input.heapAfterGc = { start: input.heapAfterGc.start, end: await heapAfterGc(last) };
    const report = analyze(input);
    if (args.values.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
    else
      io.out(
        `${watch && environment.terminal ? clearScreen : ''}${renderReport(report, header(true))}`,
      );
    return report.healthy ? 0 : 1;
  } finally {
    stopListening();
  }
}

async function pollService(
  target: OperatorTarget,
  gc: boolean,
  identity: WorkloadIdentity,
  timeoutMs: number,
): Promise<Poll> {
  try {
    const response = await fetch(`${target.url}/admin/debug/resources${gc ? '?gc=1' : ''}`, {
      headers: { authorization: await identity.authorization(target.name) },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json()) as
      ServiceResources | { error?: { code?: string; message?: string } };
    if (!response.ok || !('resources' in body)) {
      const error = 'error' in body ? body.error : undefined;
      return {
        error: `${response.status} ${error?.code ?? ''} ${error?.message ?? ''}`.trim(),
      };
    }
    return { resources: body };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { error: cause?.code ?? (error instanceof Error ? error.message : String(error)) };
  }
}

/** `20s`, `1500ms`, `2m` or a number of seconds, in milliseconds; undefined when it is none of these. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = unit === 'ms' ? value : unit === 's' ? value * 1e3 : value * 60e3;
  return ms > 0 ? Math.round(ms) : undefined;
}

function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, at - performance.now()));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
