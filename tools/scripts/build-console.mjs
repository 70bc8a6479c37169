// Builds the operator console (tools/console, Vite + Preact) into tools/console/dist, which the
// gateway serves at /console. Run by `npm run generate` (always) and before `npm start` (only when
// a source is newer than the build), so a fresh clone serves the console after `npm ci && npm start`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const consoleDir = join(repoRoot, 'tools', 'console');
const builtPage = join(consoleDir, 'dist', 'index.html');
const sources = [
  join(consoleDir, 'src'),
  join(consoleDir, 'index.html'),
  join(consoleDir, 'vite.config.ts'),
  join(repoRoot, 'tools', 'client', 'src'),
  join(repoRoot, 'tools', 'client', 'gen'),
];

function newestChange(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestChange(join(path, name))));
}

/** True when the build is missing or older than one of its sources. */
export function consoleBuildIsStale() {
  if (!existsSync(builtPage)) return true;
  const built = statSync(builtPage).mtimeMs;
  return sources.some((source) => existsSync(source) && newestChange(source) > built);
}

export function buildConsole() {
  execFileSync(
    process.execPath,
    [join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'],
    { cwd: consoleDir, stdio: 'inherit' },
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--if-stale') && !consoleBuildIsStale()) process.exit(0);
  buildConsole();
}
