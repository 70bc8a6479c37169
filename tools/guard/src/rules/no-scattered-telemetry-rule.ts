import ts from 'typescript';
import type { RawFinding } from '../finding.ts';
import { matchesAnyGlob } from '../glob-matcher.ts';
import type { RuleContext } from '../rule-context.ts';
import { locationOf } from '../source-index.ts';

const rule = 'no-scattered-telemetry';

/** Service code (not tests, not the allowed platform) may not log, count or trace on its own. */
export function noScatteredTelemetryRule({ model, index, config }: RuleContext): RawFinding[] {
  const findings: RawFinding[] = [];
  for (const file of model.sourceFiles()) {
    const service = model.serviceOf(file);
    if (!service || model.isTestFile(file) || model.isAllowedShared(file)) continue;
    const parsed = index.get(file);
    for (const ref of parsed.imports) {
      if (!matchesAnyGlob(ref.specifier, config.telemetryLibraries)) continue;
      findings.push({
        rule,
        ...locationOf(file, ref.node),
        message: `${service.name} uses telemetry library '${ref.specifier}' directly`,
        fix: 'Use the telemetry/log object from the platform (passed in through deps) instead of importing a logger, metrics or tracing library.',
      });
    }
    const visit = (node: ts.Node): void => {
      if (isConsoleUse(node)) {
        findings.push({
          rule,
          ...locationOf(file, node),
          message: `${service.name} writes to console.${(node.parent as ts.PropertyAccessExpression).name.text} directly`,
          fix: 'Log through the platform logger (deps.log / telemetry) so the line is structured JSON with trace ids.',
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(parsed.sourceFile);
  }
  return findings;
}

/** `console.x` and `globalThis.console.x`; a local variable named console is someone else's problem. */
function isConsoleUse(node: ts.Node): boolean {
  const parent = node.parent;
  if (!parent || !ts.isPropertyAccessExpression(parent) || parent.expression !== node) return false;
  if (ts.isIdentifier(node) && node.text === 'console') return true;
  return (
    ts.isPropertyAccessExpression(node) &&
    node.name.text === 'console' &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === 'globalThis'
  );
}
