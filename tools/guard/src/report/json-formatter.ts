import type { Finding } from '../finding.ts';

export function formatJson(findings: Finding[]): string {
  return JSON.stringify({ tool: 'orderly-guard', findings }, null, 2);
}
