// `npm test`: every check CI runs, in order, stopping at the first failure:
// generate → buf lint → format → typecheck → lint → guardrails → tests (real PostgreSQL and NATS).
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { connect } from 'node:net';
import { parse } from 'yaml';

// The runtime is a pinned package (package.json optionalDependencies, one per platform), not the
// machine's node: `npm ci` installs it and `npm test` finds it first on PATH. Refuse another one, so a
// run on the wrong Node cannot pass by accident.
const packageJson = JSON.parse(readFileSync('package.json', 'utf8'));
const platformPackage = Object.keys(packageJson.optionalDependencies ?? {}).find((name) =>
  new RegExp(
    `^node-(bin-)?${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}$`,
  ).test(name),
);
const pinned = platformPackage && packageJson.optionalDependencies[platformPackage];
if (pinned ? process.versions.node !== pinned : !process.versions.node.startsWith('26.')) {
  console.error(
    `npm test runs on the pinned Node ${pinned ?? '26'}, but this is ${process.version} (${process.execPath}).\n` +
      `Run 'npm ci' (it installs the runtime for this platform) and then 'npm test', which puts node_modules/.bin first on PATH.`,
  );
  process.exit(1);
}
// Every step below (and the bin scripts' `#!/usr/bin/env node`) runs on this same runtime.
const childEnv = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
};

const defaults = parse(readFileSync('config/default.yaml', 'utf8'));
const postgresUrl = new URL(process.env.ORDERLY_TEST_POSTGRES_URL ?? defaults.postgres.url);
const natsUrl = new URL(process.env.ORDERLY_TEST_NATS_URL ?? defaults.bus.natsServers);

function reachable(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const missing = [];
if (!(await reachable(postgresUrl.hostname, postgresUrl.port || 5432))) {
  missing.push(
    `PostgreSQL at ${postgresUrl.host}: start it with 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'`,
  );
}
if (!(await reachable(natsUrl.hostname, natsUrl.port || 4222))) {
  missing.push(
    `NATS with JetStream at ${natsUrl.host}: start it with 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log'`,
  );
}
if (missing.length > 0) {
  console.error(
    `npm test needs real components that are not reachable:\n  - ${missing.join('\n  - ')}`,
  );
  process.exit(1);
}

const steps = [
  ['generate contracts', process.execPath, ['tools/scripts/generate.mjs']],
  ['buf lint', 'node_modules/.bin/buf', ['lint']],
  // Formatting is checked, not fixed: `npm run format` rewrites what this reports.
  ['format', 'node_modules/.bin/prettier', ['--check', '.']],
  ['typecheck', 'node_modules/.bin/tsc', ['-p', 'tsconfig.json']],
  // The operator console (browser code: DOM types, Preact JSX) has its own project.
  ['typecheck console', 'node_modules/.bin/tsc', ['-p', 'tools/console/tsconfig.json']],
  ['lint', 'node_modules/.bin/eslint', ['.', '--max-warnings=0']],
];
if (existsSync('tools/guard/bin/orderly-guard.mjs')) {
  steps.push(['guardrails', process.execPath, ['tools/guard/bin/orderly-guard.mjs', 'check', '.']]);
  steps.push([
    'contract gate',
    process.execPath,
    ['tools/guard/bin/orderly-guard.mjs', 'contracts'],
  ]);
}
const resultsFile = join(mkdtempSync(join(tmpdir(), 'orderly-test-')), 'vitest.json');
steps.push([
  'tests',
  'node_modules/.bin/vitest',
  [
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${resultsFile}`,
    ...process.argv.slice(2),
  ],
]);

for (const [name, command, args] of steps) {
  const started = Date.now();
  console.log(`\n▶ ${name}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: childEnv });
  if (name === 'tests') printSummary();
  if (result.status !== 0) {
    console.error(`✖ ${name} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  console.log(`✔ ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** One plain closing line that any CI can read. */
function printSummary() {
  if (!existsSync(resultsFile)) return;
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  console.log(
    `\ntests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests} skipped`,
  );
}
