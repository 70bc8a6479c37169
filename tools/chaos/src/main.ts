import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDrill } from './drill-file.js';
import { headline, writeReport } from './report.js';
import { runDrill } from './run-drill.js';
import { repoRoot } from './service-processes.js';

/**
 * `npm run chaos [-- --drill chaos/drills/long.yaml] [--out chaos/results/name]`: runs a drill and
 * writes its report (Markdown + JSON). Exit code: 0 PASSED; 2 PASSED with warnings (a fault not
 * injected, a service exit the drill did not cause, an invariant waived); 1 FAILED (an invariant
 * violated or not checked, or a service that did not stop gracefully). See docs/chaos.md.
 */
function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const drillPath = argument('drill') ?? join(repoRoot, 'chaos/drills/standard.yaml');
const drill = loadDrill(drillPath);
const out =
  argument('out') ??
  join(repoRoot, 'chaos/results', `${new Date().toISOString().slice(0, 10)}-${drill.name}`);
const report = await runDrill(drill, {
  serviceLog: argument('service-log') ?? join(tmpdir(), `orderly-chaos-${drill.name}-services.log`),
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
process.exit(report.ok ? (report.warnings.length > 0 ? 2 : 0) : 1);
