import type { ServerResponse } from 'node:http';
import { buildInfo } from '../packaging/index.js';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** `/healthz`: the process is alive, and which build it runs. */
export function sendHealth(res: ServerResponse): void {
  sendJson(res, 200, { status: 'ok', details: { build: buildInfo() } });
}
