import { createWriteStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import {
  loadConfigDocument,
  openIdentity,
  operatorWorkload,
  parseConfigSection,
  platformConfigSchema,
} from '@orderly/platform';
import { parseCommand, usageFailure, type CommandIo } from './command-line.js';
import { cpuProfileCommand, heapSnapshotCommand } from './commands.js';
import { operatorTarget } from './operator-ports.js';

/**
 * `orderly debug heap-snapshot|cpu-profile --service <name>`: asks the service's operator port for a
 * heap snapshot or a CPU profile of its process (`POST /admin/debug/...`, as the operator workload)
 * and writes the file it answers, which Chrome DevTools opens.
 */
export function downloadHeapSnapshot(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseCommand(heapSnapshotCommand, argv, io);
  if ('exitCode' in args) return Promise.resolve(args.exitCode);
  return download(
    heapSnapshotCommand,
    { ...args.values, path: '/admin/debug/heap-snapshot' },
    args.configArgv,
    'Chrome DevTools → Memory → Load',
    io,
  );
}

export function downloadCpuProfile(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseCommand(cpuProfileCommand, argv, io);
  if ('exitCode' in args) return Promise.resolve(args.exitCode);
  const { seconds } = args.values;
  if (seconds !== undefined && !/^\d+$/.test(seconds))
    return Promise.resolve(
      usageFailure(cpuProfileCommand, `--seconds '${seconds}' is not a whole number`, io),
    );
  return download(
    cpuProfileCommand,
    {
      ...args.values,
      path: `/admin/debug/cpu-profile${seconds === undefined ? '' : `?seconds=${seconds}`}`,
    },
    args.configArgv,
    'Chrome DevTools → Performance → Load profile',
    io,
  );
}

async function download(
  spec: typeof heapSnapshotCommand | typeof cpuProfileCommand,
  values: { service?: string; out?: string; path: string },
  configArgv: readonly string[],
  openWith: string,
  io: CommandIo,
): Promise<number> {
  if (values.service === undefined) return usageFailure(spec, 'missing --service <name>', io);
  const document = loadConfigDocument({ argv: configArgv });
  const target = operatorTarget(document, values.service);
  if ('problem' in target) return usageFailure(spec, target.problem, io);
  const platform = parseConfigSection(platformConfigSchema, document.document);
  const identity = await openIdentity(operatorWorkload, platform);
  const url = `${target.url}${values.path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: await identity.authorization(target.name) },
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    io.err(`${spec.name}: cannot reach ${target.url}: ${cause?.code ?? String(error)}\n`);
    return 1;
  }
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as {
      error?: { code?: string; message?: string };
    };
    io.err(
      `${spec.name}: ${response.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}\n`,
    );
    return 1;
  }
  const suggested = /filename="([^"/\\]+)"/.exec(
    response.headers.get('content-disposition') ?? '',
  )?.[1];
  const file = resolve(values.out ?? suggested ?? `${target.name}.download`);
  await pipeline(
    Readable.fromWeb(response.body as ReadableStream<Uint8Array>),
    createWriteStream(file),
  );
  io.out(`${file} (${sizeOf(statSync(file).size)}): open it in ${openWith}\n`);
  return 0;
}

function sizeOf(bytes: number): string {
  const kibibytes = bytes / 1024;
  return kibibytes < 1024 ? `${kibibytes.toFixed(1)} KiB` : `${(kibibytes / 1024).toFixed(1)} MiB`;
}
