/** The rules orderly-guard knows; ids are stable because configs and SARIF consumers key on them. */
export const ruleIds = [
  'no-shared-domain',
  'no-sync-call-chain',
  'no-hardcoded-config',
  'no-scattered-telemetry',
  'no-dependency-hijack',
  'layering',
  'no-retry-storm',
  'no-shared-database',
  'no-gateway-bypass',
  'no-domain-type-drift',
  'no-leak-prone-code',
] as const;

export type RuleId = (typeof ruleIds)[number];

/** Ordered from most to least severe; the names are SARIF's `level` values. */
export type Severity = 'error' | 'warning' | 'note';

export const severityRank: Record<Severity, number> = { error: 3, warning: 2, note: 1 };

/** A place in the checked repository: path relative to its root (posix), 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface Finding extends SourceLocation {
  rule: RuleId;
  severity: Severity;
  /** What is wrong, in terms of this repository. */
  message: string;
  /** How to fix it. */
  fix: string;
  /** Other places that belong to the same problem (the shared package behind an import, a call site behind a handler). */
  related?: (SourceLocation & { message: string })[];
}

/** A finding before the configured severity is applied. */
export type RawFinding = Omit<Finding, 'severity'>;

export function compareFindings(
  a: SourceLocation & { rule: string },
  b: SourceLocation & { rule: string },
): number {
  return (
    a.file.localeCompare(b.file) ||
    a.line - b.line ||
    a.column - b.column ||
    a.rule.localeCompare(b.rule)
  );
}
