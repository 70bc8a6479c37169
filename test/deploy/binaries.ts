import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Service, ServiceLauncher } from '../e2e/system-harness.js';

/**
 * Helpers for the tests of the shipped artifacts: build them the way `npm run build:binaries`
 * does, run a binary from an empty folder, and measure how long a process takes to become ready.
 */
const execFileAsync = promisify(execFile);

export const repoRoot = new URL('../../', import.meta.url).pathname;
export const distDir = join(repoRoot, 'dist');

export interface BuildInfoFile {
  readonly version: string;
  readonly commit: string;
  readonly builtAt: string;
  readonly images: Record<string, string>;
  readonly bundles: Record<string, { file: string; bytes: number }>;
  readonly binaries: Record<string, { file: string; bytes: number }>;
}

/**
 * Runs the build as CI and a developer do (a fresh clone has no dist/); returns dist/build-info.json.
 * Asynchronous: a test worker blocked for a minute cannot answer the test runner.
 */
export async function buildArtifacts(command: 'bundles' | 'binaries'): Promise<BuildInfoFile> {
  try {
    await execFileAsync(process.execPath, ['--import', 'tsx', 'tools/build/src/main.ts', command], {
      cwd: repoRoot,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`build ${command} failed: ${String(error)}\n${stdout}\n${stderr}`);
  }
  return JSON.parse(readFileSync(join(distDir, 'build-info.json'), 'utf8')) as BuildInfoFile;
}

/** An empty folder holding only a copy of the binary: nothing of the repository is reachable. */
export function emptyFolderWith(binary: string): { folder: string; binary: string } {
  const folder = mkdtempSync(join(tmpdir(), 'orderly-binary-'));
  const copy = join(folder, 'service');
  copyFileSync(binary, copy);
  return { folder, binary: copy };
}

/**
 * Starts each service as its binary, copied into its own empty folder (cwd), with a config file there
 * (the flags file it names, copied too), an empty directory as the whole PATH (no node, no git) and
 * only the system's ORDERLY_* settings. `cleanup` removes the folders.
 */
export function binaryFolders(binaries: Record<string, { file: string }>): {
  launch: ServiceLauncher;
  cleanup: () => void;
} {
  const folders = new Map<Service, { folder: string; binary: string }>();
  const minimalPath = mkdtempSync(join(tmpdir(), 'orderly-empty-path-'));
  const launch: ServiceLauncher = (service, env) => {
    let prepared = folders.get(service);
    if (!prepared) {
      const binary = binaries[service]?.file;
      if (!binary) throw new Error(`no binary for ${service}`);
      prepared = emptyFolderWith(binary);
      mkdirSync(join(prepared.folder, 'flags'));
      copyFileSync(join(repoRoot, 'flags/flags.json'), join(prepared.folder, 'flags/flags.json'));
      writeFileSync(
        join(prepared.folder, 'orderly.yaml'),
        `flags:\n  file: ${join(prepared.folder, 'flags/flags.json')}\n`,
      );
      folders.set(service, prepared);
    }
    return {
      command: prepared.binary,
      args: ['--config', join(prepared.folder, 'orderly.yaml')],
      cwd: prepared.folder,
      env: { PATH: minimalPath, ...env },
    };
  };
  const cleanup = () => {
    for (const { folder } of folders.values()) rmSync(folder, { recursive: true, force: true });
    rmSync(minimalPath, { recursive: true, force: true });
  };
  return { launch, cleanup };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Milliseconds from spawning `command` until `url` first answers 200, polling every few ms; the
 * process is then stopped. Used for the binary (to /readyz) and for a `node -e` HTTP server (the
 * baseline of the same run, so the budget is a ratio that does not depend on the machine).
 */
export async function startToReadyMs(
  spawnArgs: {
    command: string;
    args: readonly string[];
    cwd: string;
    env: Record<string, string | undefined>;
  },
  url: string,
  timeoutMs = 30_000,
): Promise<number> {
  const started = performance.now();
  const child = spawn(spawnArgs.command, [...spawnArgs.args], {
    cwd: spawnArgs.cwd,
    env: spawnArgs.env,
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(
          `${spawnArgs.command} exited with ${child.exitCode} before ${url} answered`,
        );
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (response.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > timeoutMs)
        throw new Error(`${url} did not answer within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    child.kill('SIGTERM');
    await exited(child);
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
