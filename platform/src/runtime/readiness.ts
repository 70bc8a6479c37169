import type { ServerResponse } from 'node:http';
import type { LiveConfig, PlatformConfig } from '../config/index.js';
import type { Flags } from '../flags/index.js';
import { sendJson } from './json-answers.js';

/**
 * The checks behind `/readyz`, answered within a budget of their own. Each check runs at most once
 * at a time: a probe that arrives while a check is still running (a black-holed link, where a ping
 * waits out its deadline) joins that run instead of starting another, and the answer does not wait
 * for it beyond the budget — the check then reads "no answer within <budget> ms" and the service is
 * not ready. A run is given up after `pingTimeoutMs` (its signal aborts).
 */
export type ReadinessCheck = (signal: AbortSignal) => Promise<void>;

export interface ReadinessBudget {
  /** How long `/readyz` may take in all. */
  readonly budgetMs: number;
  /** How long one check may run before it is given up. */
  readonly pingTimeoutMs: number;
}

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly running = new Map<string, Promise<string>>();

  set(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  delete(name: string): void {
    this.checks.delete(name);
  }

  /** A check that fails with `reason` until deleted (a dependency waited for at start). */
  fail(name: string, reason: string): void {
    this.set(name, () => Promise.reject(new Error(reason)));
  }

  /** Each check's answer: 'ok' or why not. Resolves within `budgetMs`. */
  async evaluate(budget: ReadinessBudget): Promise<Record<string, string>> {
    const results: Record<string, string> = {};
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, budget.budgetMs);
    });
    try {
      await Promise.all(
        [...this.checks].map(async ([name, check]) => {
          const answer = await Promise.race([this.run(name, check, budget.pingTimeoutMs), expired]);
          results[name] = answer ?? `no answer within ${budget.budgetMs} ms`;
        }),
      );
    } finally {
      clearTimeout(timer);
    }
    return results;
  }

  private run(name: string, check: ReadinessCheck, pingTimeoutMs: number): Promise<string> {
    const current = this.running.get(name);
    if (current) return current;
    const run = check(AbortSignal.timeout(pingTimeoutMs)).then(
      () => 'ok',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    const tracked = withTimeout(run, pingTimeoutMs, `no answer within ${pingTimeoutMs} ms`).finally(
      () => this.running.delete(name),
    );
    this.running.set(name, tracked);
    return tracked;
  }
}

/** `work`'s answer, or `fallback` once `ms` passed (a check that ignores its signal is not waited for forever). */
function withTimeout(work: Promise<string>, ms: number, fallback: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** `/readyz`: 200 when every check answered 'ok' within the budget, else 503 naming the others. */
export async function sendReadiness(
  res: ServerResponse,
  readiness: Readiness,
  health: PlatformConfig['health'],
  details: Record<string, unknown> | undefined,
): Promise<void> {
  const checks = await readiness.evaluate({
    budgetMs: health.readyzBudgetMs,
    pingTimeoutMs: health.pingTimeoutMs,
  });
  const ready = Object.values(checks).every((r) => r === 'ok');
  sendJson(res, ready ? 200 : 503, {
    status: ready ? 'ready' : 'not-ready',
    checks,
    ...(details ? { details } : {}),
  });
}

/**
 * Which configuration and flags this process runs, and whether the last reload worked. Informative:
 * a rejected reload or a change waiting for a restart does not make the service unready (it keeps
 * serving with its last good configuration).
 */
export function configDetails(live: LiveConfig<unknown>, flags: Flags): Record<string, unknown> {
  const config = live.status();
  const flagsStatus = flags.status();
  let configState = 'ok';
  if (config.reloadError) configState = `reload failed: ${config.reloadError}`;
  else if (config.restartRequired.length > 0)
    configState = `restart required for: ${config.restartRequired.join(', ')}`;
  return {
    config: configState,
    configHash: config.hash,
    configFilesHash: config.filesHash,
    restartRequired: config.restartRequired,
    flags: flagsStatus.error ? flagsStatus.error : 'ok',
    flagsHash: flagsStatus.hash,
  };
}
