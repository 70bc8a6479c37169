import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * What this process is: the version, the git commit and when it was built. A bundle or binary gets
 * them from the build (tools/build injects `__ORDERLY_BUILD_INFO__` with esbuild's `define`); run
 * from source, the version comes from the repository's package.json, the commit from git, and the
 * build time is `dev`. Shown in `/healthz`, the start log line and the telemetry resource.
 */
export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  /** ISO 8601, or `dev` when running from source. */
  readonly builtAt: string;
  readonly source: 'build' | 'source';
}

declare const __ORDERLY_BUILD_INFO__: Omit<BuildInfo, 'source'> | undefined;

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  cached ??=
    typeof __ORDERLY_BUILD_INFO__ === 'undefined'
      ? fromSourceTree()
      : { ...__ORDERLY_BUILD_INFO__, source: 'build' };
  return cached;
}

function fromSourceTree(): BuildInfo {
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  let version = 'dev';
  try {
    version =
      (JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version?: string })
        .version ?? 'dev';
  } catch {
    // not in a checkout (a copied tree): the version stays unknown rather than stopping the start
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // no git or no repository: same
  }
  return { version, commit, builtAt: 'dev', source: 'source' };
}
