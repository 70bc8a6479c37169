import { existsSync, readFileSync } from 'node:fs';
import { defineCommand, parseCommand, processIo, toolVersion } from '@orderly/cli/command-line';
import { currentBuildMetadata, type BuildMetadata } from '../build-metadata.js';
import { distDir } from '../services.js';
import { kustomizeTree, writeTree } from './kustomize-tree.js';

/**
 * `npm run build:manifests`: writes the kustomize tree to dist/k8s with the image tags of the last
 * build (dist/build-info.json), or of the current commit when nothing was built yet.
 */
const manifestsCommand = defineCommand({
  name: 'npm run build:manifests',
  summary:
    'writes the kustomize tree (base, overlays/dev, overlays/prod) to dist/k8s with the image tags of the last build.',
  synopsis: '',
  options: {},
  examples: ['npm run build:manifests && kubectl apply -k dist/k8s/overlays/dev'],
  version: toolVersion(new URL('../../package.json', import.meta.url)),
});
const args = parseCommand(manifestsCommand, process.argv.slice(2), processIo);
if ('exitCode' in args) process.exit(args.exitCode);

const buildInfoFile = `${distDir}/build-info.json`;
const build: BuildMetadata = existsSync(buildInfoFile)
  ? (JSON.parse(readFileSync(buildInfoFile, 'utf8')) as BuildMetadata)
  : currentBuildMetadata();
const files = kustomizeTree({
  version: build.version,
  commit: build.commit,
  builtAt: build.builtAt,
});
writeTree(files, `${distDir}/k8s`);
process.stdout.write(
  `wrote ${files.size} files to dist/k8s (images tagged for ${build.version} ${build.commit.slice(0, 7)} built ${build.builtAt})\n`,
);
process.stdout.write('apply: kubectl apply -k dist/k8s/overlays/dev   (or overlays/prod)\n');
