import { basename, dirname } from 'node:path';

/**
 * Files a bundle carries inside itself, so a single-file binary runs from an empty folder: the
 * built-in configuration defaults and the SQL migrations. tools/build injects them with esbuild's
 * `define` as `__ORDERLY_EMBEDDED_FILES__`, keyed by the path the code computes for them in the
 * bundle (each module's `import.meta.url` becomes a virtual `file:///orderly-bundle/<repo path>`).
 * Run from source there are none, and callers read the real files.
 */
declare const __ORDERLY_EMBEDDED_FILES__: Readonly<Record<string, string>> | undefined;

const files: Readonly<Record<string, string>> =
  typeof __ORDERLY_EMBEDDED_FILES__ === 'undefined' ? {} : __ORDERLY_EMBEDDED_FILES__;

/** The content of an embedded file, or undefined when `path` is not embedded. */
export function embeddedFile(path: string): string | undefined {
  return Object.hasOwn(files, path) ? files[path] : undefined;
}

/** Names of the embedded files directly in `folder`, or undefined when nothing is embedded there. */
export function embeddedFolder(folder: string): string[] | undefined {
  const names = Object.keys(files)
    .filter((path) => dirname(path) === folder)
    .map((path) => basename(path));
  return names.length > 0 ? names : undefined;
}
