export { checkRepository, rules, type CheckResult, type CheckOptions } from './guard-check.ts';
export { checkContracts, type ContractReport } from './contracts/contract-gate.ts';
export { loadConfig, mergeConfig, defaultConfig, type GuardConfig } from './config-loader.ts';
export type { Finding, RuleId, Severity } from './finding.ts';
export { formatText } from './report/text-formatter.ts';
export { formatJson } from './report/json-formatter.ts';
export { formatSarif } from './report/sarif-formatter.ts';
export { readSpans, type Span } from './traces/otlp-spans.ts';
export {
  findSyncCallChains,
  type CallChain,
  type SyncCall,
  type TraceCheck,
} from './traces/sync-call-chains.ts';
