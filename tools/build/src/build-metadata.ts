import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { repoRoot } from './services.js';

/** Version, commit and time of one build: injected into every bundle and naming every image tag. */
export interface BuildMetadata {
  readonly version: string;
  readonly commit: string;
  readonly builtAt: string;
}

/**
 * The repository's version (root package.json: services are released together), its HEAD commit
 * (`ORDERLY_BUILD_COMMIT` when building outside a checkout) and now, or `SOURCE_DATE_EPOCH` (seconds)
 * for a reproducible build.
 */
export function currentBuildMetadata(now = new Date()): BuildMetadata {
  const { version } = JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as {
    version: string;
  };
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const builtAt = (epoch ? new Date(Number(epoch) * 1000) : now).toISOString();
  return { version, commit: gitCommit(), builtAt };
}

function gitCommit(): string {
  if (process.env.ORDERLY_BUILD_COMMIT) return process.env.ORDERLY_BUILD_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** `<service>:<version>-<yyyymmdd-hhmm>-<short-sha>` (UTC); never a moving tag such as `latest`. */
export function imageTag(service: string, build: BuildMetadata): string {
  const t = build.builtAt;
  const stamp = `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}-${t.slice(11, 13)}${t.slice(14, 16)}`;
  return `${service}:${build.version}-${stamp}-${build.commit.slice(0, 7)}`;
}
