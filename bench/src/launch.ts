import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * How the bench starts a service process. `bundles` is how production runs them (plain node on the
 * esbuild bundle that also goes into the single-file binary); `source` is the developer's way
 * (tsx on services/<svc>/src/main.ts). Both preload the GC/event-loop probe.
 */
export type ServiceLaunch =
  | { readonly kind: 'source'; readonly probeModule: string }
  | { readonly kind: 'bundles'; readonly probeModule: string; readonly bundleDir: string };

export function launchArgs(
  launch: ServiceLaunch,
  repoRoot: string,
  service: string,
  nodeFlags: readonly string[],
): string[] {
  if (launch.kind === 'source') {
    return [
      '--import',
      'tsx',
      '--import',
      launch.probeModule,
      ...nodeFlags,
      join(repoRoot, `services/${service}/src/main.ts`),
    ];
  }
  return ['--import', launch.probeModule, ...nodeFlags, join(launch.bundleDir, `${service}.cjs`)];
}

/**
 * Builds what `kind` needs: for bundles, `npm run build` (the production bundles, from the current
 * source) and the probe as one plain-JavaScript module, so no TypeScript loader runs in the services.
 */
export async function prepareLaunch(
  kind: 'bundles' | 'source',
  repoRoot: string,
  workDir: string,
): Promise<ServiceLaunch> {
  const probeSource = join(repoRoot, 'bench/src/probe.ts');
  if (kind === 'source') return { kind, probeModule: probeSource };
  // Into the run's own folder: another build at the same time (tests) must not swap bundles under it.
  const distDir = join(workDir, 'dist');
  await runToCompletion(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'tools/build/src/main.ts'), 'bundles'],
    repoRoot,
    { ...process.env, ORDERLY_DIST_DIR: distDir },
  );
  const bundleDir = join(distDir, 'bundles');
  if (!existsSync(bundleDir)) throw new Error(`the build did not write ${bundleDir}`);
  const probeModule = join(workDir, 'probe.mjs');
  await build({
    entryPoints: [probeSource],
    outfile: probeModule,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node26',
    logLevel: 'silent',
  });
  return { kind, probeModule, bundleDir };
}

function runToCompletion(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited ${code}:\n${output}`)),
    );
  });
}
