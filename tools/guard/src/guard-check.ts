import { resolve } from 'node:path';
import { configFileName, loadConfig, type GuardConfig } from './config-loader.ts';
import { matchesGlob } from './glob-matcher.ts';
import {
  compareFindings,
  severityRank,
  type Finding,
  type RawFinding,
  type RuleId,
  type Severity,
} from './finding.ts';
import { CallGraph } from './analysis/call-graph.ts';
import { createGuardProgram } from './analysis/program.ts';
import { ImportResolver } from './import-resolver.ts';
import { RepoModel } from './repo-model.ts';
import type { Rule, RuleContext } from './rule-context.ts';
import { ruleCatalog } from './rule-catalog.ts';
import { layeringRule } from './rules/layering-rule.ts';
import { noDomainTypeDriftRule } from './rules/no-domain-type-drift-rule.ts';
import { noGatewayBypassRule } from './rules/no-gateway-bypass-rule.ts';
import { noLeakProneCodeRule } from './rules/no-leak-prone-code-rule.ts';
import { noRetryStormRule } from './rules/no-retry-storm-rule.ts';
import { noSharedDatabaseRule } from './rules/no-shared-database-rule.ts';
import { noDependencyHijackRule } from './rules/no-dependency-hijack-rule.ts';
import { noHardcodedConfigRule } from './rules/no-hardcoded-config-rule.ts';
import { noScatteredTelemetryRule } from './rules/no-scattered-telemetry-rule.ts';
import { noSharedDomainRule } from './rules/no-shared-domain-rule.ts';
import { noSyncCallChainRule } from './rules/no-sync-call-chain-rule.ts';
import { SourceIndex } from './source-index.ts';

export const rules: Record<RuleId, Rule> = {
  'no-shared-domain': noSharedDomainRule,
  'no-sync-call-chain': noSyncCallChainRule,
  'no-hardcoded-config': noHardcodedConfigRule,
  'no-scattered-telemetry': noScatteredTelemetryRule,
  'no-dependency-hijack': noDependencyHijackRule,
  layering: layeringRule,
  'no-retry-storm': noRetryStormRule,
  'no-shared-database': noSharedDatabaseRule,
  'no-gateway-bypass': noGatewayBypassRule,
  'no-domain-type-drift': noDomainTypeDriftRule,
  'no-leak-prone-code': noLeakProneCodeRule,
};

export interface CheckResult {
  root: string;
  config: GuardConfig;
  findings: Finding[];
  /** True when a finding is at or above the configured threshold. */
  failed: boolean;
  /** Findings left out because a configured suppression (with a reason) accepts them. */
  suppressed: Finding[];
  /** Things a user should know about the run (no services found, ...). */
  notes: string[];
}

export interface CheckOptions {
  configPath?: string;
  /** Only run these rules (all when omitted). */
  only?: RuleId[];
}

/** Runs every enabled rule over the repository at `root` and applies the configured severities. */
export function checkRepository(root: string, options: CheckOptions = {}): CheckResult {
  const absoluteRoot = resolve(root);
  const config = loadConfig(absoluteRoot, options.configPath);
  const model = new RepoModel(absoluteRoot, config);
  const index = new SourceIndex(model);
  const resolver = new ImportResolver(model);
  let graph: CallGraph | undefined;
  const context: RuleContext = {
    model,
    index,
    resolver,
    config,
    callGraph: () => {
      if (!graph) {
        const files = model.sourceFiles().filter((file) => !model.isTestFile(file));
        graph = new CallGraph(context, createGuardProgram(model, index, resolver, files), files);
      }
      return graph;
    },
  };
  const findings: Finding[] = [];
  for (const [id, rule] of Object.entries(rules) as [RuleId, Rule][]) {
    const level = config.severity.rules[id] ?? ruleCatalog[id].defaultSeverity ?? 'error';
    if (level === 'off' || (options.only && !options.only.includes(id))) continue;
    findings.push(...dedupe(rule(context)).map((finding) => ({ ...finding, severity: level })));
  }
  findings.sort(compareFindings);
  const suppressed = findings.filter((finding) => isSuppressed(finding, config));
  const reported = findings.filter((finding) => !suppressed.includes(finding));
  const notes: string[] = [];
  if (model.services.length === 0) {
    notes.push(
      `no service found under serviceRoots ${JSON.stringify(config.serviceRoots)}: most rules had nothing to check. ` +
        `Set "serviceRoots" in ${configFileName} to where your services live (e.g. ["apps/*"], or ["."] when the repository is one service).`,
    );
  }
  return {
    root: absoluteRoot,
    config,
    findings: reported,
    failed: reported.some((finding) => atOrAbove(finding.severity, config.severity.threshold)),
    suppressed,
    notes,
  };
}

function isSuppressed(finding: Finding, config: GuardConfig): boolean {
  return config.suppressions.some(
    (suppression) =>
      suppression.rule === finding.rule &&
      matchesGlob(finding.file, suppression.file) &&
      (suppression.contains === undefined || finding.message.includes(suppression.contains)),
  );
}

function atOrAbove(severity: Severity, threshold: Severity): boolean {
  return severityRank[severity] >= severityRank[threshold];
}

function dedupe(findings: RawFinding[]): RawFinding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = `${finding.rule}\0${finding.file}\0${finding.line}\0${finding.column}\0${finding.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
