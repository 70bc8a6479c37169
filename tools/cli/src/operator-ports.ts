import { parseServiceConfig, type ConfigDocument } from '@orderly/platform';
import { serviceNames, services } from '@orderly/system';

/** A service's operator port (`/metrics`, `/admin/*`), found from the configuration. */
export interface OperatorTarget {
  readonly name: string;
  /** Base URL, e.g. `http://127.0.0.1:9081`. */
  readonly url: string;
}

export function isKnownService(name: string): boolean {
  return (serviceNames as readonly string[]).includes(name);
}

/**
 * Where `name`'s operator port is: `services.<name>.host` and `.operatorPort` of the configuration
 * (the same for `npm start` and the distributed mode); a problem to print when it cannot be known.
 */
export function operatorTarget(
  document: ConfigDocument,
  name: string,
): OperatorTarget | { readonly problem: string } {
  const definition = services.find((s) => s.name === name);
  if (!definition)
    return { problem: `unknown service '${name}' (one of ${serviceNames.join(', ')})` };
  const section = parseServiceConfig(document, name, definition.configSchema).service as {
    host: string;
    operatorPort: number;
  };
  if (section.operatorPort === 0)
    return {
      problem: `services.${name}.operatorPort is 0 (any free port), so it cannot be found; set it (--set services.${name}.operatorPort=<port>)`,
    };
  return { name, url: `http://${section.host}:${section.operatorPort}` };
}
