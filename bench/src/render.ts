import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BenchReport } from './report-types.js';
import { writeReport } from './report/write-report.js';
import { targets } from './targets.js';

/** Re-renders the Markdown and charts of a bench JSON report: `node --import tsx bench/src/render.ts <file.json>`. */
const file = process.argv[2];
if (!file) {
  process.stderr.write(
    'usage: node --import tsx bench/src/render.ts bench/results/<date>-<commit>.json\n',
  );
  process.exit(2);
}
const stored = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
const report: BenchReport = { ...stored, targets: targets(stored) };
const written = writeReport(report, dirname(file));
process.stdout.write(`${written.markdown}\n`);
