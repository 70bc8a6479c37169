import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isPlainObject } from './load-config.js';

/**
 * Keys marked reloadable are re-applied while the process runs when the configuration file changes.
 * A schema marks them where they are declared:
 *
 *   sagaTimeoutMs: reloadable(configValue.positiveInt()),
 *
 * Every other key (ports, database names, URLs, pool sizes…) is fixed at start: a change is reported
 * as needing a restart and is not applied.
 */
const reloadableSchemas = new WeakSet<z.ZodType>();

export function reloadable<Schema extends z.ZodType>(schema: Schema): Schema {
  reloadableSchemas.add(schema);
  return schema;
}

/** Dotted paths of the reloadable keys of an object schema (a marked object makes all its keys reloadable). */
export function reloadablePaths(schema: z.ZodType, prefix: readonly string[] = []): string[] {
  if (reloadableSchemas.has(schema)) return [prefix.join('.')];
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
      reloadablePaths(child, [...prefix, key]),
    );
  }
  return [];
}

/** True when `path` is one of `reloadableKeys` or lies inside one. */
export function isReloadable(path: string, reloadableKeys: readonly string[]): boolean {
  return reloadableKeys.some((key) => key !== '' && (path === key || path.startsWith(`${key}.`)));
}

/** Dotted paths of the leaves that differ between two values (lists compare as a whole). */
export function changedPaths(before: unknown, after: unknown, prefix = ''): string[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys]
      .sort()
      .flatMap((key) => changedPaths(before[key], after[key], prefix ? `${prefix}.${key}` : key));
  }
  return canonicalJson(before) === canonicalJson(after) ? [] : [prefix];
}

/** JSON with sorted object keys, so equal values give equal text (and equal hashes). */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) =>
      isPlainObject(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
        : v,
    ) ?? 'undefined'
  );
}

/** A short, stable content hash (sha256, first 16 hex digits) shown in logs, /readyz and metrics. */
export function contentHash(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

export function valueAtPath(document: unknown, path: string): unknown {
  let current: unknown = document;
  for (const key of path.split('.')) {
    if (!isPlainObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** A copy of `document` with `path` set to `value` (removed when `value` is undefined). */
export function withValueAtPath<T>(document: T, path: string, value: unknown): T {
  const [head, ...rest] = path.split('.');
  if (head === undefined || !isPlainObject(document)) return document;
  const copy: Record<string, unknown> = { ...document };
  if (rest.length === 0) {
    if (value === undefined) delete copy[head];
    else copy[head] = value;
  } else {
    copy[head] = withValueAtPath(
      isPlainObject(copy[head]) ? copy[head] : {},
      rest.join('.'),
      value,
    );
  }
  return copy as T;
}
