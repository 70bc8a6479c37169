import { isPlainObject, type ConfigLayer, type ConfigLayerSource } from './load-config.js';

/**
 * What `orderly config print` shows: every effective value with the layer it came from, secrets
 * redacted (keys that look like passwords, secrets, tokens or keys, and credentials inside URLs).
 */
export interface ConfigEntry {
  readonly key: string;
  readonly value: unknown;
  readonly source: ConfigLayerSource;
  readonly origin: string;
}

const secretKey = /(password|passwd|secret|token|credential|private|apikey|api_key|key$)/i;
export const redactedValue = '[redacted]';

export function isSecretKey(path: string): boolean {
  const last = path.split('.').pop() ?? '';
  return secretKey.test(last);
}

/** `postgres://user:pw@host/db` → `postgres://user:[redacted]@host/db`; other text unchanged. */
export function redactUrlCredentials(text: string): string {
  return text.replace(
    /^([a-z][a-z0-9+.-]*:\/\/)([^/@:\s]*)(:[^/@\s]*)?@/i,
    (_m, scheme: string, user: string, password?: string) =>
      password ? `${scheme}${user}:${redactedValue}@` : `${scheme}${user}@`,
  );
}

export function redactValue(path: string, value: unknown): unknown {
  if (value === undefined || value === null || value === '') return value;
  if (isSecretKey(path)) return redactedValue;
  if (typeof value === 'string') return redactUrlCredentials(value);
  if (Array.isArray(value))
    return value.map((item: unknown) =>
      typeof item === 'string' ? redactUrlCredentials(item) : item,
    );
  return value;
}

function leaves(document: unknown, prefix = ''): [string, unknown][] {
  if (isPlainObject(document) && (Object.keys(document).length > 0 || prefix === '')) {
    return Object.entries(document).flatMap(([key, value]) =>
      leaves(value, prefix ? `${prefix}.${key}` : key),
    );
  }
  return [[prefix, document]];
}

/**
 * Every leaf of `effective` (the validated configuration) with the highest layer that set it.
 * A key no layer set (a value the schema filled in) is reported as `default`.
 */
export function describeConfig(effective: unknown, layers: readonly ConfigLayer[]): ConfigEntry[] {
  const origins = new Map<string, ConfigLayer>();
  for (const layer of layers) for (const [key] of leaves(layer.document)) origins.set(key, layer);
  const originOf = (key: string): ConfigLayer | undefined => {
    // A list or mapping may have been replaced as a whole by a layer that set its parent.
    for (
      let path = key;
      path !== '';
      path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : ''
    ) {
      const layer = origins.get(path);
      if (layer) return layer;
    }
    return undefined;
  };
  return leaves(effective).map(([key, value]) => {
    const layer = originOf(key);
    return {
      key,
      value: redactValue(key, value),
      source: layer?.source ?? 'default',
      origin: layer?.origin ?? 'schema',
    };
  });
}
