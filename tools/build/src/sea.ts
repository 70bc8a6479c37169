import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { distDir, type ShippedService } from './services.js';

/** The fuse Node's single-executable support looks for; postject flips it when it injects the blob. */
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

type Inject = (
  file: string,
  resource: string,
  data: Buffer,
  options: { sentinelFuse: string },
) => Promise<void>;
// postject ships no type declarations; its API is one function.
const { inject } = createRequire(import.meta.url)('postject') as { inject: Inject };

export interface BinaryResult {
  readonly service: ShippedService;
  readonly file: string;
  readonly bytes: number;
}

/**
 * A Node single-executable application: the node binary that runs this build with the bundle
 * injected as its main script (https://nodejs.org/api/single-executable-applications.html).
 * It needs glibc and libstdc++ of the machine (or image) that runs it, like node itself.
 */
export async function makeBinary(
  service: ShippedService,
  bundleFile: string,
): Promise<BinaryResult> {
  const work = `${distDir}/sea/${service}`;
  mkdirSync(work, { recursive: true });
  mkdirSync(`${distDir}/bin`, { recursive: true });
  const blob = `${work}/sea-prep.blob`;
  const seaConfig = `${work}/sea-config.json`;
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: bundleFile,
      output: blob,
      disableExperimentalSEAWarning: true,
      // V8's compiled code goes into the blob: the binary skips parsing/compiling at start.
      useCodeCache: true,
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const file = `${distDir}/bin/${service}`;
  rmSync(file, { force: true });
  copyFileSync(process.execPath, file);
  chmodSync(file, 0o755);
  await inject(file, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: seaFuse });
  return { service, file, bytes: statSync(file).size };
}
