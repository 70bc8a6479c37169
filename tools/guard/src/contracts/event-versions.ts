import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { matchesAnyGlob } from '../glob-matcher.ts';
import type { RepoModel } from '../repo-model.ts';

/** A consumer still declares an event version that a producer's flag can stop publishing. */
export interface EventVersionIssue {
  /** The flags file and flag, e.g. `flags/flags.json` and `order-events-publish`. */
  file: string;
  flag: string;
  producer: string;
  /** The closed version, or (unread) the versions the consumer declares, none of them published. */
  version: string;
  /** closed: an older version no longer published; unread: the consumer reads none that is. */
  reason: 'closed' | 'unread';
  /** The variant (default or reachable by targeting) that publishes without the version. */
  variant: string;
  publishes: string[];
  /** Who still declares the version: service (or package) name and its package.json. */
  consumers: { name: string; manifest: string }[];
}

export interface EventVersionReport {
  /** producer → version → consumers declaring it, as read from `orderly.consumes`. */
  declarations: Record<string, Record<string, string[]>>;
  issues: EventVersionIssue[];
}

const publishFlag = /^(?<producer>[a-z][a-z0-9-]*)-events-publish$/;

/**
 * Consumers declare in their package.json which versions of each producer's events they read
 * (`"orderly": { "consumes": { "order": ["v1", "v2"] } }`); a producer publishes the versions its
 * flag `<producer>-events-publish` says (`"v1"`, `"v1,v2"`, `"v2"`). A version may stop being
 * published only when no consumer declares it, and every consumer must read a version that is
 * published: for every variant the flag can serve — its default and any its targeting returns.
 */
export function checkEventVersions(
  model: RepoModel,
  flagGlobs: readonly string[],
): EventVersionReport {
  const declarations = readDeclarations(model);
  const issues: EventVersionIssue[] = [];
  if (flagGlobs.length === 0) return { declarations, issues };
  for (const file of model.files.filter((path) => matchesAnyGlob(path, flagGlobs))) {
    const flags = readFlags(model.root, file);
    for (const [flag, definition] of Object.entries(flags)) {
      const producer = publishFlag.exec(flag)?.groups?.producer;
      const declared = producer ? declarations[producer] : undefined;
      if (!producer || !declared) continue;
      for (const variant of servedVariants(definition)) {
        const value = definition.variants?.[variant];
        if (typeof value !== 'string') continue;
        const publishes = value
          .split(',')
          .map((version) => version.trim())
          .filter((version) => version !== '');
        const newest = Math.max(...publishes.map(versionNumber));
        const problem = (reason: EventVersionIssue['reason'], version: string, names: string[]) =>
          issues.push({
            file,
            flag,
            producer,
            version,
            reason,
            variant,
            publishes,
            consumers: names.map((name) => ({ name, manifest: manifestOf(model, name) })),
          });
        // Closed: an older version than one published, no longer published. A newer version not
        // published yet is a window that has not opened: declaring it early harms nobody.
        for (const [version, consumers] of Object.entries(declared)) {
          if (!publishes.includes(version) && versionNumber(version) < newest)
            problem('closed', version, consumers);
        }
        const readers = new Set(Object.values(declared).flat());
        for (const consumer of [...readers].sort()) {
          const reads = Object.keys(declared).filter((version) =>
            declared[version]!.includes(consumer),
          );
          if (!reads.some((version) => publishes.includes(version)))
            problem('unread', reads.join(','), [consumer]);
        }
      }
    }
  }
  return { declarations, issues };
}

/** `v2` → 2 (`v10` sorts after `v9`); anything else → NaN, never older than a number. */
function versionNumber(version: string): number {
  return /^v(\d+)$/.test(version) ? Number(version.slice(1)) : Number.NaN;
}

interface FlagDefinition {
  state?: string;
  variants?: Record<string, unknown>;
  defaultVariant?: string;
  targeting?: unknown;
}

function readFlags(root: string, file: string): Record<string, FlagDefinition> {
  try {
    const document = JSON.parse(readFileSync(join(root, file), 'utf8')) as { flags?: unknown };
    return document.flags !== null && typeof document.flags === 'object'
      ? (document.flags as Record<string, FlagDefinition>)
      : {};
  } catch {
    return {};
  }
}

/** The default variant plus every variant name the targeting rules can return. */
function servedVariants(definition: FlagDefinition): string[] {
  const names = new Set(Object.keys(definition.variants ?? {}));
  const served = new Set<string>();
  if (definition.defaultVariant !== undefined) served.add(definition.defaultVariant);
  const visit = (node: unknown): void => {
    if (typeof node === 'string' && names.has(node)) served.add(node);
    else if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(visit);
  };
  visit(definition.targeting);
  return [...served].sort();
}

function readDeclarations(model: RepoModel): Record<string, Record<string, string[]>> {
  const declarations: Record<string, Record<string, Set<string>>> = {};
  for (const pkg of model.packages.values()) {
    const consumes = (pkg.manifest.orderly as { consumes?: unknown } | undefined)?.consumes;
    if (consumes === null || typeof consumes !== 'object') continue;
    const consumer = model.services.find((service) => service.root === pkg.dir)?.name ?? pkg.name;
    for (const [producer, versions] of Object.entries(consumes as Record<string, unknown>)) {
      if (!Array.isArray(versions)) continue;
      for (const version of versions) {
        if (typeof version !== 'string') continue;
        ((declarations[producer] ??= {})[version] ??= new Set()).add(consumer);
      }
    }
  }
  return Object.fromEntries(
    Object.entries(declarations).map(([producer, versions]) => [
      producer,
      Object.fromEntries(
        Object.entries(versions).map(([version, consumers]) => [version, [...consumers].sort()]),
      ),
    ]),
  );
}

function manifestOf(model: RepoModel, consumer: string): string {
  const dir =
    model.services.find((service) => service.name === consumer)?.root ??
    model.packages.get(consumer)?.dir;
  return dir === undefined ? 'package.json' : `${dir}/package.json`;
}
