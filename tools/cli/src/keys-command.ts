import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { IdentityService } from '@orderly/identity-contract/identity_service';
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
import { parseCommand, usageFailure, type CommandIo } from './command-line.js';
import { generateWorkloadKeysCommand, listKeysCommand, rotateKeysCommand } from './commands.js';

/**
 * `orderly workload-keys generate order inventory … operator --out dir`: one Ed25519 key pair per
 * workload, as `<name>.private.jwk` / `<name>.public.jwk` (not marked dev-only, so production accepts
 * them). Never overwrites a file. See docs/deploy.md for the Secrets to create from them.
 */
export function generateWorkloadKeys(argv: readonly string[], io: CommandIo): number {
  const spec = generateWorkloadKeysCommand;
  const args = parseCommand(spec, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const { out } = args.values;
  if (!out) return usageFailure(spec, 'missing --out <dir>', io);
  const names = args.positionals;
  const invalid = names.find((name) => !isWorkloadName(name));
  if (invalid !== undefined) return usageFailure(spec, `'${invalid}' is not a workload name`, io);
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

/**
 * `orderly keys rotate|list`: the identity service's signing keys, through its internal RPC (the
 * same in embedded and distributed mode; never exposed by the gateway without the admin role).
 * This is its client, as the operator workload, at `--url` or the configured address.
 */
async function identityClient(configArgv: readonly string[], url: string | undefined) {
  const platform = parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({ argv: configArgv }).document,
  );
  const identity = platform.services.identity as { host?: unknown; port?: unknown } | undefined;
  const baseUrl = url ?? `http://${String(identity?.host)}:${String(identity?.port)}`;
  const client = createRpcClient(IdentityService, {
    baseUrl,
    defaultTimeoutMs: platform.rpc.defaultTimeoutMs,
    // Allowed for RotateSigningKey and GetJwks by services.identity.rpcCallers.
    identity: { caller: await openIdentity(operatorWorkload, platform), audience: 'identity' },
  });
  return { client, baseUrl };
}

/** `orderly keys rotate --yes [--url identity-url] [--json]`: a rotation cannot be undone, hence `--yes`. */
export async function rotateKeys(argv: readonly string[], io: CommandIo): Promise<number> {
  const spec = rotateKeysCommand;
  const args = parseCommand(spec, argv, io);
  if ('exitCode' in args) return args.exitCode;
  if (!args.values.yes)
    return usageFailure(
      spec,
      'nothing rotated: a rotation replaces the signing key and cannot be undone; pass --yes to rotate',
      io,
    );
  const { client, baseUrl } = await identityClient(args.configArgv, args.values.url);
  try {
    const rotated = await client.rotateSigningKey({});
    const retireAfter = rotated.retireAfter
      ? timestampDate(rotated.retireAfter).toISOString()
      : undefined;
    if (args.values.json) {
      io.out(
        `${JSON.stringify({ kid: rotated.kid, alg: rotated.alg || undefined, retiringKid: rotated.retiringKid || undefined, retireAfter })}\n`,
      );
    } else {
      io.out(`new signing key: ${rotated.kid}${rotated.alg ? ` (${rotated.alg})` : ''}\n`);
      if (rotated.retiringKid) {
        io.out(
          `previous key ${rotated.retiringKid} stays published until ${retireAfter ?? '?'} (then retired)\n`,
        );
      }
    }
    return 0;
  } catch (error) {
    const appError = fromRpcError(error, `identity at ${baseUrl}`);
    io.err(`orderly keys rotate: ${appError.code} ${appError.message}\n`);
    return 1;
  }
}

/** `orderly keys list [--url identity-url] [--json]` */
export async function listKeys(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseCommand(listKeysCommand, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const { client, baseUrl } = await identityClient(args.configArgv, args.values.url);
  try {
    const { keys } = await client.getJwks({});
    if (args.values.json)
      io.out(`${JSON.stringify(keys.map((k) => ({ kid: k.kid, alg: k.alg })))}\n`);
    else
      keys.forEach((key, i) =>
        io.out(`${key.kid}\t${key.alg}\t${i === 0 ? 'signing' : 'retiring'}\n`),
      );
    return 0;
  } catch (error) {
    const appError = fromRpcError(error, `identity at ${baseUrl}`);
    io.err(`orderly keys list: ${appError.code} ${appError.message}\n`);
    return 1;
  }
}
