import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineCommand, parseCommand, processIo, toolVersion } from '@orderly/cli/command-line';
import { loadDrill } from './drill-file.js';
import { headline, writeReport } from './report.js';
import { runDrill } from './run-drill.js';
import { repoRoot } from './service-processes.js';

/**
 * `npm run chaos [-- --drill chaos/drills/long.yaml] [--out chaos/results/name]`: runs a drill and
 * writes its report (Markdown + JSON). Exit code: 0 PASSED; 3 PASSED with warnings (a fault not
 * injected, a service exit the drill did not cause, an invariant waived); 1 FAILED (an invariant
 * violated or not checked, or a service that did not stop gracefully). A command-line mistake exits 2,
 * before anything starts and without a report — never a code a passing drill uses. See docs/chaos.md.
 */
const chaosCommand = defineCommand({
  name: 'npm run chaos',
  summary:
    'runs a chaos drill (Orderly as separate processes on its own PostgreSQL and NATS, faults under load) and writes its report.',
  synopsis: '-- [--drill <file>] [--out <path prefix>] [--service-log <file>]',
  options: {
    drill: {
      type: 'string',
      value: 'file',
      description: 'the drill to run (default chaos/drills/standard.yaml)',
    },
    out: {
      type: 'string',
      value: 'path prefix',
      description: 'where the report goes, as .md and .json (default chaos/results/<date>-<drill>)',
    },
    'service-log': {
      type: 'string',
      value: 'file',
      description: 'every line the services print (default in the temp folder)',
    },
  },
  notes:
    'Exit code: 0 PASSED; 3 PASSED with warnings; 1 FAILED. A command-line mistake exits 2,\nbefore anything starts and without a report.',
  examples: [
    'npm run chaos -- --drill chaos/drills/short.yaml --out /tmp/short',
    'npm run chaos -- --drill chaos/drills/long.yaml',
  ],
  version: toolVersion(new URL('../package.json', import.meta.url)),
});

const args = parseCommand(chaosCommand, process.argv.slice(2), processIo);
if ('exitCode' in args) process.exit(args.exitCode);
const { values } = args;

const drillPath = values.drill ?? join(repoRoot, 'chaos/drills/standard.yaml');
const drill = loadDrill(drillPath);
const out =
  values.out ??
  join(repoRoot, 'chaos/results', `${new Date().toISOString().slice(0, 10)}-${drill.name}`);
const report = await runDrill(drill, {
  serviceLog: values['service-log'] ?? join(tmpdir(), `orderly-chaos-${drill.name}-services.log`),
});
const files = writeReport(report, out);
console.log(`\n${report.ok ? '✔' : '✖'} drill ${drill.name} ${headline(report)}`);
console.log(
  `  ${report.load.accepted} orders accepted, ${report.faults.length} faults, ${report.violations} invariant violations, healed after ${report.heal.healedAfterMs ?? '—'} ms; commit ${report.commit.sha}${report.commit.dirty ? ' (dirty)' : ''}`,
);
for (const i of report.invariants)
  console.log(
    `  ${i.passed ? '✔' : '✖'} ${i.name}: ${i.checked ? i.violations : i.waived !== undefined ? `waived (${i.waived})` : 'NOT CHECKED'}`,
  );
for (const w of report.warnings) console.log(`  ⚠ ${w}`);
console.log(`report: ${files.markdown}\n        ${files.json}`);
// 3, not 2: a script that accepts a drill with warnings must not accept a mistyped command line.
process.exit(report.ok ? (report.warnings.length > 0 ? 3 : 0) : 1);
