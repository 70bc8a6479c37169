import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { embeddedFile, type Logger } from '@orderly/platform';

/** The repository's plugin folder (services/risk/plugins); inside a bundle, a virtual path. */
export const shippedPluginsDir = fileURLToPath(new URL('../../plugins', import.meta.url));

/**
 * What a bundle carries of the shipped folder (tools/build embeds it): every version of every rule
 * set, `{ [name]: { [version]: { wasm: base64, golden: text } } }`.
 */
export const shippedPluginsFile = 'shipped-plugins.json';
type ShippedPlugins = Record<string, Record<string, { wasm: string; golden: string }>>;

/**
 * The folder the engine reads (and the temporary folder written, which the engine removes at close). The configured one when it exists (a mounted volume in Kubernetes,
 * the repo's folder on a laptop); else the shipped rule set: the repo's folder when run from source,
 * or, for a single-file binary started in an empty folder, the copy it carries, written out to a
 * temporary folder once. A configured folder that does not exist is logged.
 */
export function pluginsDirToUse(
  configured: string,
  log: Logger,
): { readonly dir: string; readonly written?: string } {
  if (existsSync(configured)) return { dir: configured };
  const embedded = embeddedFile(join(shippedPluginsDir, shippedPluginsFile));
  const written = embedded !== undefined ? writeOut(embedded) : undefined;
  const fallback = written ?? shippedPluginsDir;
  if (!existsSync(fallback)) return { dir: configured };
  log.warn(
    { dir: configured, what: fallback },
    'risk plugin folder does not exist; serving the shipped rule set',
  );
  return written !== undefined ? { dir: fallback, written } : { dir: fallback };
}

function writeOut(embedded: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'orderly-risk-plugins-'));
  const plugins = JSON.parse(embedded) as ShippedPlugins;
  for (const [name, versions] of Object.entries(plugins)) {
    for (const [version, files] of Object.entries(versions)) {
      const folder = join(dir, name, version);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'plugin.wasm'), Buffer.from(files.wasm, 'base64'));
      writeFileSync(join(folder, 'golden.json'), files.golden);
    }
  }
  return dir;
}
