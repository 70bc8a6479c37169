import type { RawFinding } from '../finding.ts';
import { matchesAnyGlob, pathUnder } from '../glob-matcher.ts';
import type { RuleContext } from '../rule-context.ts';
import { locationOf } from '../source-index.ts';

const rule = 'layering';

/** Inside a service, domain files may import only the domain, shared technical code and contracts. */
export function layeringRule({ model, index, resolver, config }: RuleContext): RawFinding[] {
  const findings: RawFinding[] = [];
  const { domain, forbiddenDirs, forbiddenPackages } = config.layering;
  for (const file of model.sourceFiles()) {
    const service = model.serviceOf(file);
    if (!service || model.isTestFile(file)) continue;
    const inService = pathUnder(file, service.root);
    if (!matchesAnyGlob(inService, domain)) continue;
    for (const ref of index.get(file).imports) {
      const resolution = resolver.resolve(file, ref.specifier);
      if (resolution.kind === 'external') {
        if (
          !matchesAnyGlob(ref.specifier, forbiddenPackages) &&
          !matchesAnyGlob(resolution.packageName, forbiddenPackages)
        ) {
          continue;
        }
        findings.push({
          rule,
          ...locationOf(file, ref.node),
          message: `domain code of ${service.name} imports driver/framework '${ref.specifier}'`,
          fix: 'Declare a port (interface) in domain/ and implement it with this library in data-access/ or entry-points/; inject it from app.ts.',
        });
        continue;
      }
      if (model.serviceOf(resolution.path) !== service) continue;
      const targetInService = pathUnder(resolution.path, service.root);
      if (!matchesAnyGlob(targetInService, forbiddenDirs)) continue;
      findings.push({
        rule,
        ...locationOf(file, ref.node),
        message: `domain code of ${service.name} imports outer layer ${resolution.path} ('${ref.specifier}')`,
        fix: 'Invert the dependency: the domain declares the port it needs, the outer layer implements it and app.ts wires them.',
      });
    }
  }
  return findings;
}
