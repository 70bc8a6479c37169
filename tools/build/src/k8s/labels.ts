/** Labels every object carries; NetworkPolicies and Services select pods by `app.kubernetes.io/name`. */
export const partOf = 'orderly';

export function labelsOf(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/part-of': partOf,
    'app.kubernetes.io/component': component,
  };
}

export function selectorOf(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name };
}
