import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from './config-loader.ts';
import { checkContracts, formatContractReport } from './contracts/contract-gate.ts';
import { ruleIds, type RuleId } from './finding.ts';
import { checkRepository } from './guard-check.ts';
import { formatJson } from './report/json-formatter.ts';
import { formatSarif } from './report/sarif-formatter.ts';
import { formatText } from './report/text-formatter.ts';
import { ruleCatalog } from './rule-catalog.ts';
import { SpanReadError, readSpans } from './traces/otlp-spans.ts';
import {
  findSyncCallChains,
  formatTraceCheckJson,
  formatTraceCheckText,
} from './traces/sync-call-chains.ts';

export const version = '0.1.0';

const usage = `orderly-guard ${version}: architecture guardrails for TypeScript microservice monorepos

Usage:
  orderly-guard check [path] [--format text|json|sarif] [--output file] [--config file] [--rule id]...
  orderly-guard contracts [path] [--against ref] [--base-branch main] [--format text|json] [--config file]
  orderly-guard traces <spans.jsonl>... [--ignore <operation|service>]... [--format text|json]
  orderly-guard rules

Exit codes: 0 clean, 1 findings at/above the configured severity (or breaking/lint issues; for traces:
a request or message handler waited on two or more synchronous calls in sequence), 2 usage or config error.

traces reads exported spans (OTLP JSON: the Collector's file exporter, one document per line) and
reports no-sync-call-chain as it happened at runtime.

Rules:
${ruleIds.map((id) => `  ${id.padEnd(24)}${ruleCatalog[id].summary}`).join('\n')}`;

/** Runs one command and returns its exit code; output goes to stdout/stderr. */
export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'check':
        return runCheck(rest);
      case 'contracts':
        return runContracts(rest);
      case 'traces':
        return runTraces(rest);
      case 'rules':
        process.stdout.write(`${usage.slice(usage.indexOf('Rules:'))}\n`);
        return 0;
      case '--version':
        process.stdout.write(`${version}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(`${usage}\n`);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`orderly-guard: unknown command '${command}'\n\n${usage}\n`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`orderly-guard: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

class UsageError extends Error {}

/** parseArgs throws plain TypeErrors for unknown flags; they are usage errors (exit 2), not crashes. */
function parse<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

function runCheck(args: string[]): number {
  const { values, positionals } = parse(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string', default: 'text' },
        output: { type: 'string' },
        config: { type: 'string' },
        rule: { type: 'string', multiple: true },
      },
    }),
  );
  const format = values.format;
  if (!['text', 'json', 'sarif'].includes(format))
    throw new UsageError(`--format must be text, json or sarif, not '${format}'`);
  const only = values.rule?.map((rule) => {
    if (!(ruleIds as readonly string[]).includes(rule))
      throw new UsageError(`unknown rule '${rule}'`);
    return rule as RuleId;
  });
  const result = checkRepository(positionals[0] ?? '.', {
    ...(typeof values.config === 'string' ? { configPath: values.config } : {}),
    ...(only ? { only } : {}),
  });
  const output =
    format === 'json'
      ? formatJson(result.findings)
      : format === 'sarif'
        ? formatSarif(result.findings, result.root, version)
        : formatText(result.findings);
  if (typeof values.output === 'string') writeFileSync(values.output, `${output}\n`);
  else process.stdout.write(`${output}\n`);
  for (const note of result.notes) process.stderr.write(`orderly-guard: note: ${note}\n`);
  if (result.suppressed.length > 0 && format === 'text') {
    process.stderr.write(
      `orderly-guard: ${result.suppressed.length} finding(s) suppressed by "suppressions" in the config (each with a reason)\n`,
    );
  }
  return result.failed ? 1 : 0;
}

function runContracts(args: string[]): number {
  const { values, positionals } = parse(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        against: { type: 'string' },
        'base-branch': { type: 'string' },
        format: { type: 'string', default: 'text' },
        config: { type: 'string' },
      },
    }),
  );
  const report = checkContracts(positionals[0] ?? '.', {
    ...(typeof values.against === 'string' ? { against: values.against } : {}),
    ...(typeof values['base-branch'] === 'string' ? { baseBranch: values['base-branch'] } : {}),
    ...(typeof values.config === 'string' ? { configPath: values.config } : {}),
  });
  const output =
    values.format === 'json' ? JSON.stringify(report, null, 2) : formatContractReport(report);
  process.stdout.write(`${output}\n`);
  if (report.error) return 2;
  return report.ok ? 0 : 1;
}

function runTraces(args: string[]): number {
  const { values, positionals } = parse(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ignore: { type: 'string', multiple: true },
        format: { type: 'string', default: 'text' },
      },
    }),
  );
  if (positionals.length === 0) throw new UsageError('traces needs a span file (OTLP JSON)');
  if (values.format !== 'text' && values.format !== 'json')
    throw new UsageError(`--format must be text or json, not '${values.format}'`);
  let spans;
  try {
    spans = readSpans(positionals);
  } catch (error) {
    if (error instanceof SpanReadError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  const check = findSyncCallChains(spans, { ignore: values.ignore ?? [] });
  const output =
    values.format === 'json' ? formatTraceCheckJson(check) : formatTraceCheckText(check);
  process.stdout.write(`${output}\n`);
  return check.chains.length > 0 ? 1 : 0;
}
