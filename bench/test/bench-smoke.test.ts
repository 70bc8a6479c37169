import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { BenchReport } from '../src/report-types.js';
import { targetNames } from '../src/targets.js';

/**
 * CI runs the benchmark's whole pipeline in miniature (`npm run bench:smoke`): ceilings, baseline,
 * the distributed system under intake, latency, end-to-end and half-saturation load, the embedded
 * system, resources, statements and bus hops per saga, then the JSON, Markdown and SVG report,
 * which the bench itself checks for completeness. Figures from a shared CI
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

    // The performance issue's figures are all there, measured or named as not measured.
    const json = files.find((f) => f.endsWith('.json')) ?? '';
    const report = JSON.parse(readFileSync(join(outDir, json), 'utf8')) as BenchReport;
    const markdown = readFileSync(join(outDir, json.replace(/\.json$/, '.md')), 'utf8');
    expect(report.targets.map((t) => t.target)).toEqual([...targetNames]);
    for (const t of report.targets)
      if (t.pass === null) expect(t.measured).toMatch(/^not measured: \S/);
    const statements = report.targets.find((t) => t.target.startsWith('statements per saga'));
    expect(statements?.measured).toMatch(/^(\d[\d,.]* \(|not measured: \S)/);
    expect(markdown).toContain('## Targets (performance issue)');
    expect(markdown).not.toContain('Targets (issue 7)');
    // per-process CPU per completed saga, with PostgreSQL and NATS
    expect(markdown).toContain('## Cost per completed saga at saturation');
    expect(markdown).toMatch(/\| PostgreSQL \(this run's databases\) \|/);
    expect(markdown).toMatch(/\| NATS server \|/);
    // the half-saturation phase ran at half of the measured saturation
    expect(report.half?.http.sent).toBeGreaterThan(0);
    expect(report.half?.rate).toBe(
      Math.max(1, Math.round((report.saturation?.sustainedSagasPerSecond ?? 0) / 2)),
    );
    expect(report.half?.sagas?.toTerminalMs).toBeDefined();
    // latency distributions hold every request, failures included
    for (const run of [report.intake, report.half?.http, ...report.latency.map((l) => l.http)]) {
      expect(run?.latencyMs.count).toBe(run?.sent);
      expect((run?.statuses['202'] ?? 0) + (run?.failures?.total ?? NaN)).toBe(run?.sent);
    }
    // npm start's system, measured
    expect(report.embedded?.error).toBeUndefined();
    expect(report.embedded?.sustainedSagasPerSecond).toEqual(expect.any(Number));
    expect(report.embedded?.peakRssMB).toEqual(expect.any(Number));
    // telemetry as production runs it; the 100 % comparison is named as skipped in a smoke run
    expect(report.meta.samplingRatio).toContain('config/prod.yaml');
    expect(report.telemetry?.note).toMatch(/^not measured/);
    // provenance
    expect(report.meta.node).toBe(process.version);
    expect(Array.isArray(report.meta.dirtyFiles)).toBe(true);
    expect(report.meta.loadAverageAtEnd).toHaveLength(3);
  }, 300_000);
});
