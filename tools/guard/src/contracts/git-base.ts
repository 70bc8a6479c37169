import { spawnSync } from 'node:child_process';

export interface BaseRef {
  sha: string;
  /** How the base was chosen, for the report. */
  how: string;
}

export function git(cwd: string, args: string[]): { ok: boolean; stdout: string } {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return { ok: result.status === 0, stdout: (result.stdout ?? '').trim() };
}

function commitOf(cwd: string, ref: string): string | undefined {
  const result = git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return result.ok && result.stdout !== '' ? result.stdout : undefined;
}

/**
 * Picks the commit to compare contracts against. A fresh CI clone may have only `main`
 * (checked out, maybe shallow), a feature checkout has `origin/main`: so try the explicit
 * ref, then the merge base with origin/main or main, then the previous commit. Comparing
 * HEAD with itself proves nothing, so a base equal to HEAD falls through to HEAD~1.
 */
export function findBaseRef(
  cwd: string,
  against: string | undefined,
  baseBranch = 'main',
): BaseRef | { error: string } | undefined {
  if (against !== undefined) {
    const sha = commitOf(cwd, against);
    return sha
      ? { sha, how: `--against ${against}` }
      : { error: `cannot resolve --against ${against} to a commit` };
  }
  const head = commitOf(cwd, 'HEAD');
  if (!head) return undefined;
  for (const branch of [`origin/${baseBranch}`, baseBranch]) {
    const tip = commitOf(cwd, branch);
    if (!tip || tip === head) continue;
    const mergeBase = git(cwd, ['merge-base', 'HEAD', tip]);
    const sha: string = mergeBase.ok && mergeBase.stdout !== '' ? mergeBase.stdout : tip;
    if (sha !== head) return { sha, how: `merge base with ${branch}` };
  }
  let previous = commitOf(cwd, 'HEAD~1');
  if (!previous && git(cwd, ['rev-parse', '--is-shallow-repository']).stdout === 'true') {
    // A shallow CI clone: one more commit of history is enough to compare with.
    git(cwd, ['fetch', '--quiet', '--deepen=1']);
    previous = commitOf(cwd, 'HEAD~1');
  }
  return previous ? { sha: previous, how: 'previous commit (HEAD~1)' } : undefined;
}

export function filesAt(cwd: string, sha: string): string[] {
  const result = git(cwd, ['ls-tree', '-r', '--name-only', '--full-tree', sha]);
  return result.ok ? result.stdout.split('\n').filter((line) => line !== '') : [];
}
