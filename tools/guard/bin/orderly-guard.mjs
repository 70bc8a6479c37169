#!/usr/bin/env node
// Runs the TypeScript source directly: the guard is a repo tool, so a build step would only add a way to be stale.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = main(process.argv.slice(2));
