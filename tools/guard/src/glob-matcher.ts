/**
 * Minimal glob support for config patterns, matched against repo-relative posix paths:
 * `**` spans directories, `*` and `?` stay within one segment, `{a,b}` alternates.
 * Hand-rolled because Node 20's path.matchesGlob is still experimental and warns on use.
 */
const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  const cached = cache.get(glob);
  if (cached) return cached;
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] ?? '';
    if (char === '*') {
      if (glob[i + 1] === '*') {
        const slashAfter = glob[i + 2] === '/';
        source += slashAfter ? '(?:.*/)?' : '.*';
        i += slashAfter ? 2 : 1;
      } else {
        source += '[^/]*';
      }
    } else if (char === '?') {
      source += '[^/]';
    } else if (char === '{') {
      const end = glob.indexOf('}', i);
      if (end === -1) {
        source += '\\{';
      } else {
        source += `(?:${glob
          .slice(i + 1, end)
          .split(',')
          .map(escapeRegExp)
          .join('|')})`;
        i = end;
      }
    } else {
      source += escapeRegExp(char);
    }
  }
  const regExp = new RegExp(`^${source}$`);
  cache.set(glob, regExp);
  return regExp;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

export function matchesGlob(path: string, glob: string): boolean {
  return globToRegExp(trimSlashes(glob)).test(path);
}

export function matchesAnyGlob(path: string, globs: readonly string[]): boolean {
  return globs.some((glob) => matchesGlob(path, glob));
}

/**
 * The directory prefix of `path` matched by a directory glob such as `services/*`,
 * e.g. `services/order` for `services/order/src/app.ts`; undefined when no prefix matches.
 */
export function matchingDirPrefix(path: string, dirGlobs: readonly string[]): string | undefined {
  const segments = path.split('/');
  for (let length = 1; length <= segments.length; length++) {
    const prefix = segments.slice(0, length).join('/');
    if (dirGlobs.some((glob) => matchesGlob(prefix, glob))) return prefix;
  }
  // `.` is the repository itself: a repository that is one service.
  return dirGlobs.some(isRootGlob) ? '' : undefined;
}

export function isRootGlob(glob: string): boolean {
  return glob === '.' || glob === './' || glob === '';
}

/** `src/app.ts` for `services/order/src/app.ts` in `services/order`; the path itself for the root. */
export function pathUnder(path: string, dir: string): string {
  return dir === '' ? path : path.slice(dir.length + 1);
}

/** True when the path is a directory matched by one of the globs or lies inside one. */
export function isUnderAnyDir(path: string, dirGlobs: readonly string[]): boolean {
  return matchingDirPrefix(path, dirGlobs) !== undefined;
}

function trimSlashes(glob: string): string {
  return glob.replace(/^\.\//, '').replace(/\/+$/, '');
}
