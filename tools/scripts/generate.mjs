// Generates each service's TypeScript contract into services/<svc>/gen from its own proto folder.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const buf = join('node_modules', '.bin', 'buf');
for (const service of readdirSync('services')) {
  const protoDir = join('services', service, 'proto');
  if (!existsSync(protoDir)) continue;
  const outDir = join('services', service);
  rmSync(join(outDir, 'gen'), { recursive: true, force: true });
  execFileSync(buf, ['generate', protoDir, '--template', 'buf.gen.yaml', '--output', outDir], {
    stdio: 'inherit',
  });
}
