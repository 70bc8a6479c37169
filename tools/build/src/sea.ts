import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { distDir, type ShippedService } from './services.js';

const execFileAsync = promisify(execFile);

export interface BinaryResult {
  readonly service: ShippedService;
  readonly file: string;
  readonly bytes: number;
}

/**
 * A Node single-executable application: the node binary that runs this build (the pinned runtime
 * from package.json's optionalDependencies) with the bundle inside as its main script, made in one
 * step by `node --build-sea` (Node ≥25.5; https://nodejs.org/api/single-executable-applications.html).
 * The runtime that builds it is the runtime that ships in it. It needs glibc, libstdc++ and
 * libatomic of the machine (or image) that runs it, like node itself.
 */
export async function makeBinary(
  service: ShippedService,
  bundleFile: string,
): Promise<BinaryResult> {
  const work = `${distDir}/sea/${service}`;
  mkdirSync(work, { recursive: true });
  mkdirSync(`${distDir}/bin`, { recursive: true });
  const file = `${distDir}/bin/${service}`;
  const seaConfig = `${work}/sea-config.json`;
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: bundleFile,
      mainFormat: 'commonjs',
      output: file,
      disableExperimentalSEAWarning: true,
      // V8's compiled code goes into the binary: it skips parsing/compiling at start.
      useCodeCache: true,
    }),
  );
  rmSync(file, { force: true });
  const { stderr } = await execFileAsync(process.execPath, ['--build-sea', seaConfig]);
  if (stderr) process.stderr.write(stderr);
  chmodSync(file, 0o755);
  return { service, file, bytes: statSync(file).size };
}
