import type { K8sObject } from './render.js';

/**
 * Validates objects against the Kubernetes API schemas shipped in `kubernetes-models` (the
 * OpenAPI definitions of the API server, compiled to validators), and the Prometheus Operator's
 * custom resources against `@kubernetes-models/prometheus-operator` (its CRDs): every object's
 * apiVersion/kind must be known and its content must match. Returns one message per problem.
 */
const packagesByGroup: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

export async function schemaProblems(objects: readonly K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const object of objects) {
    const id = `${object.kind}/${object.metadata?.name ?? '?'}`;
    const [group, version] = object.apiVersion.includes('/')
      ? object.apiVersion.split('/')
      : ['', object.apiVersion];
    const modulePath = packagesByGroup[group ?? '']
      ? `${packagesByGroup[group ?? '']}/${group}/${version}/${object.kind}`
      : `kubernetes-models/${group ? `${group}/` : ''}${version}/${object.kind}`;
    let model: (new (data: unknown) => { validate(): void }) | undefined;
    try {
      model = (
        (await import(modulePath)) as Record<string, new (data: unknown) => { validate(): void }>
      )[object.kind];
    } catch {
      model = undefined;
    }
    if (!model) {
      problems.push(`${id}: unknown apiVersion/kind ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new model(object).validate();
    } catch (error) {
      problems.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}
