import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Runs a tool's real entry point as the shell would, with tsx; never throws for an exit code. */
const repoRoot = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);

export interface ProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runEntryPoint(
  entryPoint: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<ProcessResult> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', entryPoint, ...args],
      { cwd: repoRoot, timeout: 120_000, env: { ...process.env, ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    const { stdout = '', stderr = '' } = failed;
    return { code: failed.code, stdout, stderr };
  }
}

/** `orderly <args>` through tools/cli/src/main.ts. */
export const orderly = (args: readonly string[], env?: Readonly<Record<string, string>>) =>
  runEntryPoint('tools/cli/src/main.ts', args, env);
