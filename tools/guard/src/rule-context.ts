import type { CallGraph } from './analysis/call-graph.ts';
import type { GuardConfig } from './config-loader.ts';
import type { RawFinding } from './finding.ts';
import type { ImportResolver } from './import-resolver.ts';
import type { RepoModel } from './repo-model.ts';
import type { SourceIndex } from './source-index.ts';

export interface RuleContext {
  model: RepoModel;
  index: SourceIndex;
  resolver: ImportResolver;
  config: GuardConfig;
  /** The type-checked call graph over the checked sources, built on first use (a few seconds on a big repo). */
  callGraph: () => CallGraph;
}

export type Rule = (context: RuleContext) => RawFinding[];
