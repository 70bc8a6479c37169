import type { Finding } from '../finding.ts';

/** `file:line:column  rule  explanation  → how to fix`, one finding per line, then a summary. */
export function formatText(findings: Finding[]): string {
  const lines = findings.map(
    (finding) =>
      `${finding.file}:${finding.line}:${finding.column}  ${finding.severity === 'error' ? '' : `${finding.severity} `}${finding.rule}  ${finding.message}  → ${finding.fix}`,
  );
  const counts = new Map<string, number>();
  for (const finding of findings) counts.set(finding.rule, (counts.get(finding.rule) ?? 0) + 1);
  const summary =
    findings.length === 0
      ? 'orderly-guard: no findings'
      : `orderly-guard: ${findings.length} finding${findings.length === 1 ? '' : 's'} (${[...counts].map(([rule, count]) => `${rule} ${count}`).join(', ')})`;
  return [...lines, summary].join('\n');
}
