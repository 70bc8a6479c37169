import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  dockerfileCopySources,
  dockerfileProblems,
  readAllowlist,
} from '@orderly/build/dockerfile';

/** What CI can check of the images without a Docker engine (the copied files are checked after a build in binaries.test.ts). */
const repoRoot = new URL('../../', import.meta.url).pathname;
const allowlist = readAllowlist(join(repoRoot, 'deploy/base-images.allowlist'));

function dockerfiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return ['node_modules', '.git', 'dist', 'fixtures'].includes(entry.name)
        ? []
        : dockerfiles(path);
    return /^(Dockerfile|Containerfile)(\..+)?$/.test(entry.name) &&
      !entry.name.endsWith('.dockerignore')
      ? [path]
      : [];
  });
}

describe('Dockerfiles', () => {
  test('when CI looks at every Dockerfile in the repository, then each uses only allowlisted base images, a non-root user and the OCI labels', () => {
    const files = dockerfiles(repoRoot);
    expect(files.map((f) => f.slice(repoRoot.length))).toContain('deploy/Dockerfile');
    for (const file of files)
      expect(dockerfileProblems(readFileSync(file, 'utf8'), allowlist), file).toEqual([]);
  });

  test('when a Dockerfile uses an unlisted or moving base image, runs as root or lacks labels, then the check names each problem', () => {
    const bad = [
      'FROM node:latest AS build',
      'FROM alpine',
      'ADD https://example.com/x /x',
      'USER root',
      'ENTRYPOINT /app/service',
    ].join('\n');
    expect(dockerfileProblems(bad, allowlist)).toEqual([
      'FROM node:latest: not in deploy/base-images.allowlist',
      'FROM node:latest: a moving tag; name a version',
      'FROM alpine: not in deploy/base-images.allowlist',
      'FROM alpine: a moving tag; name a version',
      'line 3: ADD of a URL; download in a reviewed step instead',
      'final stage: USER root is root',
      'final stage: no LABEL org.opencontainers.image.source',
      'final stage: no LABEL org.opencontainers.image.revision',
      'final stage: no LABEL org.opencontainers.image.created',
      'final stage: ENTRYPOINT must be in exec form (there is no shell)',
    ]);
  });

  test('when the image copies from the build context, then it copies only the service binary (nothing of the source tree)', () => {
    const dockerfile = readFileSync(join(repoRoot, 'deploy/Dockerfile'), 'utf8');
    expect(dockerfileCopySources(dockerfile, { SERVICE: 'payment' })).toEqual(['dist/bin/payment']);
    expect(dockerfileCopySources(dockerfile)).toEqual(['dist/bin/order']);
  });
});
