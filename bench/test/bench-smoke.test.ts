import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

/**
 * CI runs the benchmark's whole pipeline in miniature (`npm run bench:smoke`): ceilings, baseline,
 * the distributed system under intake, latency and end-to-end load, resources, then the JSON,
 * Markdown and SVG report, which the bench itself checks for completeness. Figures from a shared CI
 * machine mean nothing and are not asserted; that the pipeline works is.
 */
const repoRoot = new URL('../../', import.meta.url).pathname;
const outDir = mkdtempSync(join(tmpdir(), 'orderly-bench-smoke-test-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench:smoke', () => {
  test('when the smoke benchmark runs, then it measures every part and writes a complete JSON, Markdown and SVG report', async () => {
    // Asynchronous: a blocked test worker cannot answer vitest's own RPC for minutes.
    const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'bench/src/main.ts', '--smoke', '--out', outDir],
          {
            cwd: repoRoot,
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGTERM'), 280_000);
        child.on('error', reject);
        child.on('exit', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
      },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output.slice(-4000)).toBe(0);
    expect(output).toContain('smoke: the report is complete and well-formed');
    const files = readdirSync(outDir);
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.md'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.svg')).length).toBeGreaterThan(0);
  }, 300_000);
});
