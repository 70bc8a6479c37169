import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';

const buildScript = fileURLToPath(new URL('../../plugins/build-plugins.mjs', import.meta.url));

describe('the committed plugin binaries', () => {
  test('when the AssemblyScript sources are compiled again, then every committed .wasm is byte for byte the same', async () => {
    // --check compiles into a scratch folder and names every binary that differs (exit 1).
    const run = promisify(execFile)(process.execPath, [buildScript, '--check']);

    await expect(run).resolves.toMatchObject({ stderr: '' });
  });
});
