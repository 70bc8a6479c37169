import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { IdentityService } from '@orderly/identity/contract/identity_service';
import {
  createRpcClient,
  fromRpcError,
  generateWorkloadKeyPair,
  isWorkloadName,
  loadConfigDocument,
  openIdentity,
  operatorWorkload,
  parseConfigSection,
  platformConfigSchema,
} from '@orderly/platform';

/**
 * `orderly keys rotate|list`: the identity service's signing keys, through its internal RPC (the
 * same in embedded and distributed mode; never exposed by the gateway without the admin role).
 *   orderly keys rotate [--config file] [--url http://identity:port] [--json]
 *   orderly keys list   [--config file] [--url http://identity:port] [--json]
 */
export const keysUsage = `  orderly keys rotate          [--config file] [--url identity-url] [--json]
  orderly keys list            [--config file] [--url identity-url] [--json]
  orderly workload-keys generate <name> ... --out <dir>   (production key pairs for the Secrets)`;

/**
 * `orderly workload-keys generate order inventory … operator --out dir`: one Ed25519 key pair per
 * workload, as `<name>.private.jwk` / `<name>.public.jwk` (not marked dev-only, so production accepts
 * them). Never overwrites a file. See docs/deploy.md for the Secrets to create from them.
 */
export function runWorkloadKeysCommand(
  command: string | undefined,
  args: readonly string[],
  io: { out(text: string): void; err(text: string): void },
): number {
  const out = option(args, '--out');
  const names = args.filter((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--out');
  if (command !== 'generate' || !out || names.length === 0 || !names.every(isWorkloadName)) {
    io.err(`usage:\n  orderly workload-keys generate <name> ... --out <dir>\n`);
    return 2;
  }
  mkdirSync(out, { recursive: true, mode: 0o700 });
  for (const name of names) {
    const files = [join(out, `${name}.private.jwk`), join(out, `${name}.public.jwk`)] as const;
    if (files.some((file) => existsSync(file))) {
      io.err(`orderly workload-keys: ${name}'s key files exist in ${out}, not overwritten\n`);
      return 1;
    }
    const { privateJwk, publicJwk } = generateWorkloadKeyPair(name, { production: true });
    writeFileSync(files[0], `${JSON.stringify(privateJwk)}\n`, { mode: 0o600 });
    writeFileSync(files[1], `${JSON.stringify(publicJwk)}\n`, { mode: 0o644 });
    io.out(`${files[0]}\n${files[1]}\n`);
  }
  return 0;
}

function option(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

export async function runKeysCommand(
  command: string | undefined,
  args: readonly string[],
  io: { out(text: string): void; err(text: string): void },
): Promise<number> {
  if (command !== 'rotate' && command !== 'list') {
    io.err(`usage:\n${keysUsage}\n`);
    return 2;
  }
  const document = loadConfigDocument({ argv: args }).document;
  const platform = parseConfigSection(platformConfigSchema, document);
  const identity = platform.services.identity as { host?: unknown; port?: unknown } | undefined;
  const baseUrl =
    option(args, '--url') ?? `http://${String(identity?.host)}:${String(identity?.port)}`;
  const client = createRpcClient(IdentityService, {
    baseUrl,
    defaultTimeoutMs: platform.rpc.defaultTimeoutMs,
    // Allowed for RotateSigningKey and GetJwks by services.identity.rpcCallers.
    identity: { caller: await openIdentity(operatorWorkload, platform), audience: 'identity' },
  });
  const json = args.includes('--json');
  try {
    if (command === 'rotate') {
      const rotated = await client.rotateSigningKey({});
      const retireAfter = rotated.retireAfter
        ? timestampDate(rotated.retireAfter).toISOString()
        : undefined;
      if (json) {
        io.out(
          `${JSON.stringify({ kid: rotated.kid, retiringKid: rotated.retiringKid || undefined, retireAfter })}\n`,
        );
      } else {
        io.out(`new signing key: ${rotated.kid}\n`);
        if (rotated.retiringKid) {
          io.out(
            `previous key ${rotated.retiringKid} stays published until ${retireAfter ?? '?'} (then retired)\n`,
          );
        }
      }
      return 0;
    }
    const { keys } = await client.getJwks({});
    if (json) io.out(`${JSON.stringify(keys.map((k) => ({ kid: k.kid, alg: k.alg })))}\n`);
    else
      keys.forEach((key, i) =>
        io.out(`${key.kid}\t${key.alg}\t${i === 0 ? 'signing' : 'retiring'}\n`),
      );
    return 0;
  } catch (error) {
    const appError = fromRpcError(error, `identity at ${baseUrl}`);
    io.err(`orderly keys ${command}: ${appError.code} ${appError.message}\n`);
    return 1;
  }
}
