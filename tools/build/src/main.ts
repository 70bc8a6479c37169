import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { bundleService } from './bundle.js';
import { currentBuildMetadata, imageTag, type BuildMetadata } from './build-metadata.js';
import { makeBinary } from './sea.js';
import { distDir, shippedServices } from './services.js';

/**
 * `npm run build` → dist/bundles/<svc>.cjs; `npm run build:binaries` → also dist/bin/<svc>.
 * Both write dist/build-info.json: the build's version, commit, time, and each service's image tag;
 * `npm run build:docker-commands` then prints the `docker build` line of each image.
 */
const command = process.argv[2] ?? 'bundles';
if (command === 'docker-commands') {
  printDockerCommands();
  process.exit(0);
}
if (command !== 'bundles' && command !== 'binaries') {
  process.stderr.write(`usage: build [bundles|binaries|docker-commands]\n`);
  process.exit(2);
}

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
