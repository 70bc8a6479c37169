// Compiles the risk rule plugins written in AssemblyScript: the shipped rule set into its version
// folder (basic-rules/<version>/plugin.wasm) and the test fixtures into fixtures/. Run by
// `npm run generate`; the outputs are committed (see docs/risk.md, "Building plugins"), and
// `node services/risk/plugins/build-plugins.mjs --check` fails when a committed .wasm is stale.
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const here = dirname(fileURLToPath(import.meta.url));
// Sources are named relative to the repository, whatever the working directory, so that the
// binaries (which may carry file names) are the same wherever they are built.
const repoRoot = join(here, '..', '..', '..');
const common = ['--runtime', 'stub', '-O3', '--noAssert', '--initialMemory', '1'];

/** Every plugin binary the repo ships: its output (relative to this folder), source and flags. */
export const pluginBuilds = [
  {
    output: 'basic-rules/1.0.0/plugin.wasm',
    source: 'assembly/basic-rules/index.ts',
    flags: ['--maximumMemory', '16'],
  },
  ...['looping', 'trapping', 'garbage', 'forbidden-import', 'abi-v2', 'constant'].map((name) => ({
    output: `fixtures/${name}.wasm`,
    source: `fixtures/assembly/${name}.ts`,
    flags: ['--maximumMemory', '16'],
  })),
  {
    output: 'fixtures/memory-hungry.wasm',
    source: 'fixtures/assembly/memory-hungry.ts',
    flags: ['--maximumMemory', '64'],
  },
  {
    output: 'fixtures/memory-above-cap.wasm',
    source: 'fixtures/assembly/memory-hungry.ts',
    flags: ['--maximumMemory', '65536'],
  },
  {
    output: 'fixtures/no-memory-maximum.wasm',
    source: 'fixtures/assembly/trapping.ts',
    flags: [],
  },
];

/**
 * Plugin folders for drills (chaos/drills/risk-plugins.yaml points services.risk.plugins.dir at
 * them): each fault fixture as basic-rules 1.0.0 with golden cases it passes, so it validates and
 * serves, and faults on every order under the rule setting fixtureFaultEveryOrder = 1.
 */
export const drillFixtures = ['looping', 'trapping', 'memory-hungry', 'garbage'];

/** Every file the build writes, relative to this folder. */
export function builtFiles() {
  return [
    ...pluginBuilds.map((b) => b.output),
    ...drillFixtures.flatMap((name) =>
      ['plugin.wasm', 'golden.json'].map(
        (file) => `fixtures/drill/${name}/basic-rules/1.0.0/${file}`,
      ),
    ),
  ];
}

/** Compiles every plugin into `root` (this folder by default). */
export async function buildPlugins(root = here) {
  for (const build of pluginBuilds) {
    const output = join(root, build.output);
    mkdirSync(dirname(output), { recursive: true });
    let messages = '';
    const sink = { write: (text) => ((messages += String(text)), true) };
    const { error } = await asc.main(
      [
        relative(repoRoot, join(here, build.source)),
        '--baseDir',
        repoRoot,
        '-o',
        output,
        ...common,
        ...build.flags,
      ],
      { stdout: sink, stderr: sink },
    );
    if (error) throw new Error(`asc failed for ${build.source}: ${error.message}\n${messages}`);
  }
  for (const name of drillFixtures) {
    const folder = join(root, 'fixtures', 'drill', name, 'basic-rules', '1.0.0');
    mkdirSync(folder, { recursive: true });
    copyFileSync(join(root, 'fixtures', `${name}.wasm`), join(folder, 'plugin.wasm'));
    // fixtures/golden.json: one ordinary order scored 100, as every fault fixture scores it.
    copyFileSync(join(here, 'fixtures', 'golden.json'), join(folder, 'golden.json'));
  }
}

/** The committed binaries that differ from a fresh compile of their sources. */
export async function stalePlugins() {
  const scratch = mkdtempSync(join(tmpdir(), 'orderly-plugins-'));
  try {
    await buildPlugins(scratch);
    return builtFiles().filter((output) => {
      let committed;
      try {
        committed = readFileSync(join(here, output));
      } catch {
        return true;
      }
      return !committed.equals(readFileSync(join(scratch, output)));
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const stale = await stalePlugins();
    if (stale.length > 0) {
      process.stderr.write(`stale plugin binaries (npm run generate): ${stale.join(', ')}\n`);
      process.exit(1);
    }
  } else {
    await buildPlugins();
  }
}
