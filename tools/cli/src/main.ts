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
import { keysUsage, runKeysCommand, runWorkloadKeysCommand } from './keys-command.js';
import { runTraceCommand } from './trace-command.js';
import { ordersUsage, runOrdersCommand } from './orders-command.js';
import { checkConfig, configUsage, printConfig } from './config-commands.js';

/**
 * `orderly` — the operator's command line.
 *   orderly dead-letters list     [--config file] [--json]
 *   orderly dead-letters redrive  [--config file] [--id <id> ...]
 * With the NATS bus it talks to JetStream directly. In embedded mode (in-memory bus) the bus lives
 * inside the running process, so it asks that process through the order service's admin endpoint on
 * its operator port (services.order.operatorPort), signed with the operator's workload identity.
 */
const usage = `usage:
  orderly dead-letters list    [--config file] [--json]
  orderly dead-letters redrive [--config file] [--id <id> ...]
  orderly trace <orderId>      [--config file] [--logs file ...] [--json]
${keysUsage}
${ordersUsage}
${configUsage}`;

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

async function listDeadLetters(platform: PlatformConfig): Promise<DeadLetterSummary[]> {
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

async function redrive(platform: PlatformConfig, ids: string[] | undefined): Promise<number> {
  if (platform.bus.kind === 'memory') {
    const response = await fetch(`${adminUrl(platform)}/redrive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await adminHeaders(platform)) },
      body: JSON.stringify(ids ? { ids } : {}),
      signal: AbortSignal.timeout(platform.rpc.defaultTimeoutMs),
    });
    return (await adminJson<{ redriven: number }>(response)).redriven;
  }
  const bus = await openBus(platform, 'cli');
  try {
    return await bus.redriveDeadLetters(ids);
  } finally {
    await bus.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group === 'config' && (command === 'print' || command === 'check')) {
    const io = {
      out: (text: string) => process.stdout.write(text),
      err: (text: string) => process.stderr.write(text),
    };
    return command === 'print' ? printConfig(rest, process.env, io) : checkConfig(rest, io);
  }
  if (group === 'keys') {
    return runKeysCommand(command, rest, {
      out: (text: string) => process.stdout.write(text),
      err: (text: string) => process.stderr.write(text),
    });
  }
  if (group === 'orders') {
    return runOrdersCommand(command, rest, {
      out: (text: string) => process.stdout.write(text),
      err: (text: string) => process.stderr.write(text),
    });
  }
  if (group === 'workload-keys') {
    return runWorkloadKeysCommand(command, rest, {
      out: (text: string) => process.stdout.write(text),
      err: (text: string) => process.stderr.write(text),
    });
  }
  if (group === 'trace') {
    return runTraceCommand(
      parseConfigSection(platformConfigSchema, loadConfigDocument({ argv: rest }).document),
      command,
      rest,
    );
  }
  if (group !== 'dead-letters' || (command !== 'list' && command !== 'redrive')) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const platform = parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({ argv: rest }).document,
  );
  if (command === 'list') {
    const letters = await listDeadLetters(platform);
    if (rest.includes('--json')) process.stdout.write(`${JSON.stringify(letters, null, 2)}\n`);
    else if (letters.length === 0) process.stdout.write('no dead letters\n');
    else
      for (const l of letters)
        process.stdout.write(
          `${l.id}\t${l.failedAt}\t${l.subscription}\t${l.subject}\tevent ${l.eventId}\tattempts ${l.attempts}\t${l.error}\n`,
        );
    return 0;
  }
  const ids = rest.flatMap((arg, i) =>
    arg === '--id' && rest[i + 1] ? [rest[i + 1] as string] : [],
  );
  const count = await redrive(platform, ids.length > 0 ? ids : undefined);
  process.stdout.write(`redriven: ${count}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`orderly: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
