import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/index.js';
import { sendJson } from './json-answers.js';

/**
 * What a service tells the operator console about itself, on its operator port (after the caller's
 * identity was checked, operator-endpoints.ts):
 *
 * - `GET /admin/timeline/<id>`: the entries its own data holds about `<id>` (an order id, for
 *   instance), each with the time it happened: what `orderly trace` reads from its database.
 * - `GET /admin/summary`: a few named figures (counts by state, things per minute).
 *
 * A service registers them with `runtime.timeline(...)` and `runtime.summary(...)`; a service that
 * registered none answers an empty list or object. The gateway's console routes gather them.
 */
export interface TimelineEntry {
  /** ISO 8601. */
  readonly at: string;
  /** What happened, in a few words (`reservation RESERVED`, `status CONFIRMED`). */
  readonly what: string;
}

export type TimelineSource = (id: string, signal: AbortSignal) => Promise<TimelineEntry[]>;
/** Named figures; nested one level so a service can group them (`{ byStatus: { PENDING: 3 } }`). */
export type OperatorSummary = Record<string, number | Record<string, number>>;
export type SummarySource = (signal: AbortSignal) => Promise<OperatorSummary>;
/** A service's own read-only operator route (`runtime.operatorGet`): its JSON answer. */
export type OperatorGetSource = (query: URLSearchParams, signal: AbortSignal) => Promise<unknown>;

export class ConsoleSources {
  private readonly timelines: TimelineSource[] = [];
  private readonly summaries: SummarySource[] = [];
  private readonly gets = new Map<string, OperatorGetSource>();

  addGet(path: string, source: OperatorGetSource): void {
    this.gets.set(path, source);
  }

  getRoute(path: string): OperatorGetSource | undefined {
    return this.gets.get(path);
  }

  addTimeline(source: TimelineSource): void {
    this.timelines.push(source);
  }

  addSummary(source: SummarySource): void {
    this.summaries.push(source);
  }

  async timeline(id: string, signal: AbortSignal): Promise<TimelineEntry[]> {
    const entries = (await Promise.all(this.timelines.map((source) => source(id, signal)))).flat();
    return entries.sort((a, b) => a.at.localeCompare(b.at));
  }

  async summary(signal: AbortSignal): Promise<OperatorSummary> {
    const parts = await Promise.all(this.summaries.map((source) => source(signal)));
    return Object.assign({}, ...parts) as OperatorSummary;
  }
}

/** An id as it may appear in a path: letters, digits, `-`, `_`, `.`, at most 128 characters. */
const idPattern = /^[A-Za-z0-9_.-]{1,128}$/;

/** `GET /admin/timeline/<id>` and `GET /admin/summary`; answers false for any other route. */
export function answerConsole(
  sources: ConsoleSources,
  log: Logger,
  timeoutMs: number,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  if (req.method !== 'GET') return false;
  const signal = AbortSignal.timeout(timeoutMs);
  const own = sources.getRoute(path);
  if (own) {
    const query = new URLSearchParams(req.url?.split('?')[1] ?? '');
    void reply(log, res, path, () => own(query, signal));
    return true;
  }
  if (path === '/admin/summary') {
    void reply(log, res, 'summary', () => sources.summary(signal).then((summary) => ({ summary })));
    return true;
  }
  if (path.startsWith('/admin/timeline/')) {
    const id = decodeURIComponent(path.slice('/admin/timeline/'.length));
    if (!idPattern.test(id)) {
      sendJson(res, 400, {
        error: {
          code: 'TIMELINE_ID_INVALID',
          message: 'the id must be 1 to 128 letters, digits, "-", "_" or "."',
        },
      });
      return true;
    }
    void reply(log, res, 'timeline', () =>
      sources.timeline(id, signal).then((entries) => ({ entries })),
    );
    return true;
  }
  return false;
}

async function reply(
  log: Logger,
  res: ServerResponse,
  what: string,
  read: () => Promise<unknown>,
): Promise<void> {
  try {
    sendJson(res, 200, await read());
  } catch (error) {
    log.error({ err: error, what }, 'console request failed');
    sendJson(res, 500, {
      error: {
        code: 'CONSOLE_REQUEST_FAILED',
        message: `the ${what} could not be read (see the log)`,
      },
    });
  }
}

/**
 * The routes of the operator port that `workloadIdentity.consoleCallers` (the gateway, acting for an
 * admin of the console) may use: reading health figures, dead letters, timelines and summaries, and
 * redriving dead letters. Heap snapshots, CPU profiles and forced garbage collections stay with
 * `adminCallers`.
 */
export function isConsoleRoute(method: string, path: string, query: URLSearchParams): boolean {
  if (method === 'GET' && (path === '/admin/dead-letters' || path === '/admin/summary'))
    return true;
  if (method === 'GET' && path.startsWith('/admin/timeline/')) return true;
  if (method === 'GET' && path === '/admin/debug/resources') return !query.has('gc');
  return method === 'POST' && path === '/admin/dead-letters/redrive';
}
