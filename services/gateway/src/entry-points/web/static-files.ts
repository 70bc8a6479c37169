import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { embeddedFile, embeddedFolder } from '@orderly/platform';

/**
 * Files the gateway serves to browsers (the console's build, the API reference's renderer), held in
 * memory: read from disk when run from source, from the bundle's embedded files in a bundle or
 * single-file binary (tools/build embeds them under the same paths), so both serve the same bytes.
 */
export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** Strong validator: the content's sha256. */
  readonly etag: string;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

function staticFile(body: Buffer, name: string): StaticFile {
  return {
    body,
    contentType: contentTypes[extname(name)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  };
}

/**
 * The files of `folder` (and of its `subfolders`) whose names pass `include`, keyed by their path
 * relative to `folder` (`index.html`, `assets/console-1a2b.js`). Empty when the folder does not exist.
 */
export function loadStaticFolder(
  folder: URL,
  subfolders: readonly string[],
  include: (name: string) => boolean = () => true,
): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const root = fileURLToPath(folder);
  for (const sub of ['', ...subfolders]) {
    const dir = join(root, sub);
    const embedded = embeddedFolder(dir.replace(/\/$/, ''));
    const names = embedded ?? listFiles(dir);
    for (const name of names.filter(include)) {
      const path = join(dir, name);
      const text = embeddedFile(path);
      const body = text !== undefined ? Buffer.from(text, 'utf8') : readFileSync(path);
      files.set(sub ? `${sub}/${name}` : name, staticFile(body, name));
    }
  }
  return files;
}

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => statSync(join(dir, name)).isFile());
  } catch {
    return [];
  }
}

/** A page the gateway writes itself (the API reference's HTML). */
export function generatedFile(name: string, text: string): StaticFile {
  return staticFile(Buffer.from(text, 'utf8'), name);
}
