import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import {
  commandEntry,
  defineCommand,
  processIo,
  runProgram,
  toolVersion,
  type Program,
} from '@orderly/cli/command-line';
import { bundleService } from './bundle.js';
import { currentBuildMetadata, imageTag, type BuildMetadata } from './build-metadata.js';
import { makeBinary } from './sea.js';
import { distDir, shippedServices } from './services.js';

/**
 * `npm run build` → dist/bundles/<svc>.cjs; `npm run build:binaries` → also dist/bin/<svc>.
 * Both write dist/build-info.json: the build's version, commit, time, and each service's image tag;
 * `npm run build:docker-commands` then prints the `docker build` line of each image.
 */
const version = toolVersion(new URL('../package.json', import.meta.url));
const noOptions = { synopsis: '', options: {}, version } as const;
const buildProgram: Program = {
  name: 'tools/build/src/main.ts',
  summary:
    'builds what ships: bundles, single-file binaries, and the docker build lines of the images.',
  version,
  commands: {
    bundles: commandEntry(
      defineCommand({
        ...noOptions,
        name: 'npm run build',
        summary:
          'bundles each service with esbuild into dist/bundles/<svc>.cjs and writes dist/build-info.json.',
        examples: ['npm run build'],
      }),
      () => build('bundles'),
    ),
    binaries: commandEntry(
      defineCommand({
        ...noOptions,
        name: 'npm run build:binaries',
        summary:
          'bundles each service, then makes it a single-file executable dist/bin/<svc>; writes dist/build-info.json.',
        examples: ['npm run build:binaries'],
      }),
      () => build('binaries'),
    ),
    'docker-commands': commandEntry(
      defineCommand({
        ...noOptions,
        name: 'npm run build:docker-commands',
        summary:
          'prints the docker build line of each image of the last build (dist/build-info.json).',
        examples: ['npm run build:docker-commands | sh'],
      }),
      () => {
        printDockerCommands();
        return 0;
      },
    ),
  },
};

/** The `docker build` line of each service for the last build (dist/build-info.json), with its tag and labels. */
function printDockerCommands(): void {
  const info = JSON.parse(readFileSync(`${distDir}/build-info.json`, 'utf8')) as BuildMetadata & {
    images: Record<string, string>;
  };
  for (const [service, tag] of Object.entries(info.images)) {
    const args = {
      SERVICE: service,
      VERSION: info.version,
      REVISION: info.commit,
      CREATED: info.builtAt,
    };
    const buildArgs = Object.entries(args).map(([k, v]) => `--build-arg ${k}=${v}`);
    process.stdout.write(
      `docker build -f deploy/Dockerfile ${buildArgs.join(' ')} --build-arg SOURCE="$(git remote get-url origin)" -t ${tag} .\n`,
    );
  }
}

/** Bundles every service (and makes its binary); writes dist/build-info.json. */
async function build(command: 'bundles' | 'binaries'): Promise<number> {
  const metadata = currentBuildMetadata();
  mkdirSync(distDir, { recursive: true });
  const started = Date.now();
  const bundles = await Promise.all(
    shippedServices.map((service) => bundleService(service, metadata)),
  );
  for (const b of bundles)
    process.stdout.write(
      `bundle  ${b.service.padEnd(13)} ${String(b.bytes).padStart(9)} bytes  (${b.embeddedFiles} embedded files)\n`,
    );
  const binaries = [];
  if (command === 'binaries') {
    // One at a time: each copies and rewrites a ~100 MB executable.
    for (const b of bundles) {
      const binary = await makeBinary(b.service, b.file);
      binaries.push(binary);
      process.stdout.write(
        `binary  ${binary.service.padEnd(13)} ${String(binary.bytes).padStart(9)} bytes\n`,
      );
    }
  }
  writeFileSync(
    `${distDir}/build-info.json`,
    `${JSON.stringify(
      {
        ...metadata,
        images: Object.fromEntries(shippedServices.map((s) => [s, imageTag(s, metadata)])),
        bundles: Object.fromEntries(
          bundles.map((b) => [b.service, { file: b.file, bytes: b.bytes }]),
        ),
        binaries: Object.fromEntries(
          binaries.map((b) => [b.service, { file: b.file, bytes: b.bytes }]),
        ),
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(
    `built ${command} for ${metadata.version} ${metadata.commit.slice(0, 7)} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return 0;
}

const argv = process.argv.slice(2);
process.exit(await runProgram(buildProgram, argv.length > 0 ? argv : ['bundles'], processIo));
