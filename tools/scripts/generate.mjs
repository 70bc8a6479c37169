// Generates each contract package's TypeScript into contracts/<svc>/gen from its own proto folder.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const buf = join('node_modules', '.bin', 'buf');
for (const contract of readdirSync('contracts')) {
  const protoDir = join('contracts', contract, 'proto');
  if (!existsSync(protoDir)) continue;
  const outDir = join('contracts', contract);
  rmSync(join(outDir, 'gen'), { recursive: true, force: true });
  execFileSync(buf, ['generate', protoDir, '--template', 'buf.gen.yaml', '--output', outDir], {
    stdio: 'inherit',
  });
}
