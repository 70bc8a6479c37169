import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { PlatformConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { ServiceDiagnostics } from './diagnostics.js';
import { sendJson } from './json-answers.js';
import { heapSnapshotStream, isProfiling, takeCpuProfile } from './process-diagnostics.js';

/** What the debug endpoints read from their service. */
export interface DebugService {
  readonly name: string;
  readonly diagnostics: ServiceDiagnostics;
  /** The platform keys in effect now (`debug` is reloadable). */
  platform(): PlatformConfig;
  readonly log: Logger;
}

/**
 * `/admin/debug/*` on the operator port, after the operator's identity was checked
 * (operator-endpoints.ts); never on the service's RPC or public port:
 *
 * - `GET /admin/debug/resources[?gc=1]`: handles by type, listeners, event loop, heap (after a full GC
 *   with `gc=1`), database pool, outbox backlog, bus connection, consumer lag, dead letters (JSON).
 * - `POST /admin/debug/heap-snapshot`: a `.heapsnapshot` download (Chrome DevTools → Memory → Load).
 *   It holds whatever the heap holds, secrets included: keep it like a credential.
 * - `POST /admin/debug/cpu-profile[?seconds=N]`: profiles the process for N seconds (default
 *   `debug.cpuProfileDefaultSeconds`, at most `debug.cpuProfileMaxSeconds`) and answers a `.cpuprofile`
 *   download (DevTools → Performance → Load profile). One at a time per process.
 */
export async function answerDebug(
  service: DebugService,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const query = new URLSearchParams(req.url?.split('?')[1] ?? '');
  const route = `${req.method ?? ''} ${path}`;
  try {
    if (route === 'GET /admin/debug/resources') {
      const gc = booleanParameter(query, 'gc');
      if (gc === 'invalid')
        return invalid(res, 'DEBUG_PARAMETER_INVALID', 'gc must be 0, 1, true or false');
      return sendJson(res, 200, await service.diagnostics.collect({ gc }));
    }
    if (route === 'POST /admin/debug/heap-snapshot') return await sendHeapSnapshot(service, res);
    if (route === 'POST /admin/debug/cpu-profile') return await sendCpuProfile(service, query, res);
  } catch (error) {
    service.log.error({ err: error, route }, 'debug request failed');
    if (!res.headersSent)
      return sendJson(res, 500, {
        error: { code: 'DEBUG_REQUEST_FAILED', message: 'the debug request failed (see the log)' },
      });
    res.destroy();
    return;
  }
  sendJson(res, 404, { error: { code: 'ROUTE_NOT_FOUND', message: `no route ${route}` } });
}

async function sendHeapSnapshot(service: DebugService, res: ServerResponse): Promise<void> {
  const file = `${service.name}-${process.pid}-${fileTime()}.heapsnapshot`;
  service.log.info({ file }, 'heap snapshot taken for the operator');
  // The snapshot is taken here, synchronously (the process pauses), then streamed.
  const snapshot = heapSnapshotStream();
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename="${file}"`,
  });
  await pipeline(snapshot, res);
}

async function sendCpuProfile(
  service: DebugService,
  query: URLSearchParams,
  res: ServerResponse,
): Promise<void> {
  const { cpuProfileDefaultSeconds, cpuProfileMaxSeconds, cpuProfileSamplingIntervalUs } =
    service.platform().debug;
  const asked = query.get('seconds');
  const seconds =
    asked === null ? cpuProfileDefaultSeconds : /^\d+$/.test(asked) ? Number(asked) : Number.NaN;
  if (!(seconds >= 1 && seconds <= cpuProfileMaxSeconds))
    return invalid(
      res,
      'DEBUG_PROFILE_SECONDS_INVALID',
      `seconds must be a whole number from 1 to ${cpuProfileMaxSeconds} (debug.cpuProfileMaxSeconds), not ${asked ?? ''}`,
    );
  if (isProfiling())
    return sendJson(res, 409, {
      error: {
        code: 'DEBUG_PROFILE_IN_PROGRESS',
        message: 'a CPU profile is already being taken in this process; try again when it ends',
      },
    });
  // A caller that goes away ends the profile early; nothing is sent then.
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  const file = `${service.name}-${process.pid}-${fileTime()}.cpuprofile`;
  service.log.info({ file, seconds }, 'CPU profile started for the operator');
  const profile = await takeCpuProfile(
    seconds * millisecondsPerSecond,
    cpuProfileSamplingIntervalUs,
    gone.signal,
  );
  if (gone.signal.aborted) return;
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-disposition': `attachment; filename="${file}"`,
  });
  res.end(profile);
}

/** The unit of `?seconds=` and of the debug keys. */
const millisecondsPerSecond = 1e3;

function booleanParameter(query: URLSearchParams, name: string): boolean | 'invalid' {
  const value = query.get(name);
  if (value === null || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  return 'invalid';
}

function invalid(res: ServerResponse, code: string, message: string): void {
  sendJson(res, 400, { error: { code, message } });
}

/** A timestamp usable in a file name: 2026-01-31T10-00-00Z. */
function fileTime(): string {
  return new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}
