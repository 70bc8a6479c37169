import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDrill } from './drill-file.js';
import { writeReport } from './report.js';
import { runDrill } from './run-drill.js';
import { repoRoot } from './service-processes.js';

/**
 * `npm run chaos [-- --drill chaos/drills/long.yaml] [--out chaos/results/name]`: runs a drill and
 * writes its report (Markdown + JSON). Exits 1 when any invariant is violated.
 */
function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const drillPath = argument('drill') ?? join(repoRoot, 'chaos/drills/standard.yaml');
const drill = loadDrill(drillPath);
const out = argument('out') ?? join(repoRoot, 'chaos/results', `${new Date().toISOString().slice(0, 10)}-${drill.name}`);
const report = await runDrill(drill, { serviceLog: argument('service-log') ?? join(tmpdir(), `orderly-chaos-${drill.name}-services.log`) });
const files = writeReport(report, out);
console.log(`\n${report.ok ? '✔' : '✖'} drill ${drill.name}: ${report.load.accepted} orders accepted, ${report.faults.length} faults, ${report.violations} invariant violations, healed after ${report.heal.healedAfterMs ?? '—'} ms`);
for (const i of report.invariants) console.log(`  ${i.violations === 0 ? '✔' : '✖'} ${i.name}: ${i.checked ? i.violations : 'not checked'}`);
console.log(`report: ${files.markdown}\n        ${files.json}`);
process.exit(report.ok ? 0 : 1);
