#!/usr/bin/env node
// In this monorepo (src/ next to bin/, tsx installed) the TypeScript source runs directly, so the
// guard can never be stale; an installed package has only the compiled dist/ and needs no tsx.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
const compiled = new URL('../dist/cli.js', import.meta.url);
let cli;
if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    cli = await import(source.href);
  } catch (error) {
    if (!existsSync(compiled)) throw error;
  }
}
cli ??= await import(compiled.href);
process.exitCode = cli.main(process.argv.slice(2));
