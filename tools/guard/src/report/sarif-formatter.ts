import { pathToFileURL } from 'node:url';
import { ruleIds, type Finding } from '../finding.ts';
import { ruleCatalog } from '../rule-catalog.ts';

const rootBase = 'SRCROOT';

/** SARIF 2.1.0 with one run; file URIs are relative to %SRCROOT% so the log is portable across checkouts. */
export function formatSarif(findings: Finding[], root: string, version: string): string {
  const rootUri = pathToFileURL(root.endsWith('/') ? root : `${root}/`).href;
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'orderly-guard',
            version,
            rules: ruleIds.map((id) => ({
              id,
              name: id,
              shortDescription: { text: ruleCatalog[id].summary },
              help: { text: ruleCatalog[id].help },
              defaultConfiguration: { level: ruleCatalog[id].defaultSeverity ?? 'error' },
            })),
          },
        },
        originalUriBaseIds: { [rootBase]: { uri: rootUri } },
        results: findings.map((finding) => ({
          ruleId: finding.rule,
          ruleIndex: ruleIds.indexOf(finding.rule),
          level: finding.severity,
          message: { text: `${finding.message}. Fix: ${finding.fix}` },
          locations: [location(finding.file, finding.line, finding.column)],
          ...(finding.related?.length
            ? {
                relatedLocations: finding.related.map((related, index) => ({
                  id: index,
                  ...location(related.file, related.line, related.column),
                  message: { text: related.message },
                })),
              }
            : {}),
        })),
      },
    ],
  };
  return JSON.stringify(log, null, 2);
}

function location(file: string, line: number, column: number) {
  return {
    physicalLocation: {
      artifactLocation: { uri: encodeURI(file), uriBaseId: rootBase },
      region: { startLine: line, startColumn: column },
    },
  };
}
