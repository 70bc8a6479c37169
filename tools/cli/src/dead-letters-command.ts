import {
  loadConfigDocument,
  openBus,
  openIdentity,
  operatorWorkload,
  parseConfigSection,
  platformConfigSchema,
  type DeadLetter,
  type PlatformConfig,
} from '@orderly/platform';
import { parseCommand, usageFailure, type CommandIo } from './command-line.js';
import { listDeadLettersCommand, redriveDeadLettersCommand } from './commands.js';

/**
 * `orderly dead-letters list|redrive`. With the NATS bus it talks to JetStream directly. In
 * embedded mode (in-memory bus) the bus lives inside the running process, so it asks that process
 * through the order service's admin endpoint on its operator port (services.order.operatorPort),
 * signed with the operator's workload identity.
 */
interface DeadLetterSummary {
  id: string;
  subscription: string;
  subject: string;
  eventId: string;
  attempts: number;
  failedAt: string;
  error: string;
}

function summarize(
  letter: DeadLetter | (Omit<DeadLetter, 'failedAt'> & { failedAt: string }),
): DeadLetterSummary {
  return {
    id: letter.id,
    subscription: letter.subscription,
    subject: letter.subject,
    eventId: letter.eventId,
    attempts: letter.attempts,
    failedAt: new Date(letter.failedAt).toISOString(),
    error: letter.error,
  };
}

function adminUrl(platform: PlatformConfig): string {
  const order = platform.services.order as { host?: string; operatorPort?: number } | undefined;
  return `http://${order?.host ?? 'localhost'}:${order?.operatorPort ?? ''}/admin/dead-letters`;
}

/** The operator's service token for the order service's admin endpoints (key under workloadIdentity.keysDir). */
async function adminHeaders(platform: PlatformConfig): Promise<Record<string, string>> {
  const identity = await openIdentity(operatorWorkload, platform);
  return { authorization: await identity.authorization('order') };
}

async function adminJson<T>(response: Response): Promise<T> {
  const body = (await response.json()) as T & { error?: { code: string; message: string } };
  if (!response.ok)
    throw new Error(`${body.error?.code ?? response.status} ${body.error?.message ?? ''}`);
  return body;
}

async function readDeadLetters(platform: PlatformConfig): Promise<DeadLetterSummary[]> {
  if (platform.bus.kind === 'memory') {
    const response = await fetch(adminUrl(platform), {
      headers: await adminHeaders(platform),
      signal: AbortSignal.timeout(platform.rpc.defaultTimeoutMs),
    });
    const body = await adminJson<{
      deadLetters: (Omit<DeadLetter, 'failedAt'> & { failedAt: string })[];
    }>(response);
    return body.deadLetters.map(summarize);
  }
  const bus = await openBus(platform, 'cli');
  try {
    return (await bus.listDeadLetters()).map(summarize);
  } finally {
    await bus.close();
  }
}

/** Redrives the dead letters named, or every one when `ids` is `'all'`. */
async function redrive(platform: PlatformConfig, ids: readonly string[] | 'all'): Promise<number> {
  if (platform.bus.kind === 'memory') {
    const response = await fetch(`${adminUrl(platform)}/redrive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await adminHeaders(platform)) },
      body: JSON.stringify(ids === 'all' ? {} : { ids }),
      signal: AbortSignal.timeout(platform.rpc.defaultTimeoutMs),
    });
    return (await adminJson<{ redriven: number }>(response)).redriven;
  }
  const bus = await openBus(platform, 'cli');
  try {
    return await bus.redriveDeadLetters(ids === 'all' ? undefined : ids);
  } finally {
    await bus.close();
  }
}

function platformConfig(configArgv: readonly string[]): PlatformConfig {
  return parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({ argv: configArgv }).document,
  );
}

/** `orderly dead-letters list [--json]` */
export async function listDeadLetters(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseCommand(listDeadLettersCommand, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const letters = await readDeadLetters(platformConfig(args.configArgv));
  if (args.values.json) io.out(`${JSON.stringify(letters, null, 2)}\n`);
  else if (letters.length === 0) io.out('no dead letters\n');
  else
    for (const l of letters)
      io.out(
        `${l.id}\t${l.failedAt}\t${l.subscription}\t${l.subject}\tevent ${l.eventId}\tattempts ${l.attempts}\t${l.error}\n`,
      );
  return 0;
}

/** `orderly dead-letters redrive (--id <id> ... | --all)`: nothing unless told which. */
export async function redriveDeadLetters(argv: readonly string[], io: CommandIo): Promise<number> {
  const spec = redriveDeadLettersCommand;
  const args = parseCommand(spec, argv, io);
  if ('exitCode' in args) return args.exitCode;
  const { id: ids = [], all = false } = args.values;
  if (all && ids.length > 0) return usageFailure(spec, 'give either --id or --all, not both', io);
  if (!all && ids.length === 0)
    return usageFailure(
      spec,
      'nothing redriven: pass --id <id> for each dead letter to redrive, or --all for every one',
      io,
    );
  const count = await redrive(platformConfig(args.configArgv), all ? 'all' : ids);
  io.out(`redriven: ${count}\n`);
  return 0;
}
