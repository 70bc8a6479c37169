// Generates each contract package's TypeScript into contracts/<svc>/gen from its own proto folder,
// then the public API's typed client (tools/client/gen) from the gateway's OpenAPI document, then
// the operator console's build (tools/console/dist), which the gateway serves at /console.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { buildConsole } from './build-console.mjs';
import { buildPlugins } from '../../services/risk/plugins/build-plugins.mjs';
import { join } from 'node:path';

const buf = join('node_modules', '.bin', 'buf');
for (const contract of readdirSync('contracts')) {
  const protoDir = join('contracts', contract, 'proto');
  if (!existsSync(protoDir)) continue;
  const outDir = join('contracts', contract);
  rmSync(join(outDir, 'gen'), { recursive: true, force: true });
  execFileSync(buf, ['generate', protoDir, '--template', 'buf.gen.yaml', '--output', outDir], {
    stdio: 'inherit',
  });
}

// The risk service's rule plugins (AssemblyScript → .wasm), committed like the client below, so the
// hash a decision records names a file in git (docs/risk.md, "Building plugins").
await buildPlugins();

// @orderly/client: the document the gateway serves at /openapi.json (built-in defaults), and the
// types openapi-typescript makes of it. Committed, so a change of the API shows in the diff; users
// (console, bench, chaos, e2e) are type-checked against them in the next step of `npm test`.
mkdirSync(join('tools', 'client', 'gen'), { recursive: true });
execFileSync(
  process.execPath,
  ['--import', 'tsx', 'tools/client/scripts/write-openapi.ts', 'tools/client/gen/openapi.json'],
  { stdio: 'inherit' },
);
execFileSync(
  process.execPath,
  [
    join('node_modules', 'openapi-typescript', 'bin', 'cli.js'),
    'tools/client/gen/openapi.json',
    '--output',
    'tools/client/gen/schema.ts',
    '--silent',
  ],
  { stdio: 'inherit' },
);
buildConsole();
