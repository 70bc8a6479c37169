import { performance } from 'node:perf_hooks';
import { Histogram } from '../histogram.js';
import { HttpConnection, type ResponseInfo } from './http-connection.js';
import type { LoadJob, LoadResult } from './job.js';

/**
 * The load generator: a child process that receives one LoadJob over IPC and answers one LoadResult.
 * Open mode is coordinated-omission-aware: request i is due at start + i/rate; when no connection
 * is free it waits in a queue, and its latency is measured from when it was due, not from when it
 * could finally be sent.
 */

/** Errors that mean the request got no answer at all (as opposed to a broken connection). */
export const timedOut = 'request timed out';
export const unansweredAtEnd = 'unanswered at end';
export const neverSent = 'never sent (generator queue)';
const noAnswerErrors = new Set([timedOut, unansweredAtEnd, neverSent]);

interface Slot {
  readonly due: number;
  readonly inWindow: boolean;
}

function orderBody(i: number, skus: readonly string[]): string {
  const n = skus.length;
  const first = skus[i % n] ?? 'SKU';
  const lines = [{ sku: first, quantity: 1 + (i % 3) }];
  // one order in ten has a second line
  if (i % 10 === 9 && n > 1) lines.push({ sku: skus[(i * 7 + 3) % n] ?? first, quantity: 1 });
  return JSON.stringify({ lines, paymentMethod: 'pm_card_ok' });
}

function requestBuilder(job: LoadJob): (i: number) => string {
  const url = new URL(job.url);
  const host = `Host: ${url.host}\r\n`;
  const path = url.pathname + url.search;
  const auth = job.authHeaders.length > 0 ? job.authHeaders : [''];
  if (job.kind === 'get') {
    return (i) => `GET ${path} HTTP/1.1\r\n${host}${auth[i % auth.length] ?? ''}\r\n`;
  }
  return (i) => {
    const body = orderBody(i, job.skus);
    return (
      `POST ${path} HTTP/1.1\r\n${host}Content-Type: application/json\r\n` +
      `Idempotency-Key: ${job.keyPrefix}-${i}\r\n${auth[i % auth.length] ?? ''}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    );
  };
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const origins = [job.url, ...(job.replicaOrigins ?? [])].map((origin) => {
    const url = new URL(origin);
    return { host: url.hostname, port: Number(url.port || 80) };
  });
  const build = requestBuilder(job);
  const cpuStart = process.cpuUsage();
  const t0 = performance.now();
  const windowStart = t0 + job.warmupMs;
  const windowEnd = windowStart + job.durationMs;
  const windowStartEpochMs = Date.now() + job.warmupMs;

  const latency = new Histogram();
  const acceptedLatency = new Histogram();
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const acceptedPerSecond: number[] = new Array<number>(Math.ceil(job.durationMs / 1000)).fill(0);
  let sent = 0;
  let completedInWindow = 0;
  let acceptedInWindow = 0;
  let maxQueued = 0;
  let connectionsOpened = 0;
  let sampleErrorBody: string | undefined;
  let counter = 0;
  let inFlight = 0;
  let stopping = false;

  const idle: HttpConnection[] = [];
  const all = new Set<HttpConnection>();
  const inFlightStart = new Map<HttpConnection, number>();
  const okStatus = job.okStatus;

  const newConnection = () => {
    const origin = origins[connectionsOpened % origins.length] ?? origins[0]!;
    const c = new HttpConnection(origin.host, origin.port);
    connectionsOpened++;
    all.add(c);
    return c;
  };

  /**
   * A request that got no answer stays in the latency distribution: at its elapsed time, and at
   * least the request timeout when it never got one (timed out, unanswered at the end, never sent).
   */
  const recordFailure = (slot: Slot, key: string, noAnswer: boolean) => {
    errors[key] = (errors[key] ?? 0) + 1;
    const elapsedMs = performance.now() - slot.due;
    latency.record((noAnswer ? Math.max(elapsedMs, job.requestTimeoutMs) : elapsedMs) * 1000);
  };

  const complete = (slot: Slot, error: Error | undefined, response: ResponseInfo | undefined) => {
    const now = performance.now();
    inFlight--;
    if (!slot.inWindow) return;
    if (error) {
      const key = error.message.slice(0, 60);
      recordFailure(slot, key, noAnswerErrors.has(key));
      return;
    }
    const status = response?.status ?? 0;
    statuses[status] = (statuses[status] ?? 0) + 1;
    const us = (now - slot.due) * 1000;
    // every answer, accepted or not, at its elapsed time
    latency.record(us);
    if (now <= windowEnd) completedInWindow++;
    if (status === okStatus) {
      acceptedLatency.record(us);
      if (now <= windowEnd) {
        acceptedInWindow++;
        const second = Math.floor((now - windowStart) / 1000);
        if (second >= 0 && second < acceptedPerSecond.length)
          acceptedPerSecond[second] = (acceptedPerSecond[second] ?? 0) + 1;
      }
    } else if (sampleErrorBody === undefined && response) {
      sampleErrorBody = `${status} ${response.body.toString('utf8', 0, 300)}`;
    }
  };

  const send = (connection: HttpConnection, slot: Slot, onDone: (backOffMs: number) => void) => {
    const i = counter++;
    inFlight++;
    inFlightStart.set(connection, performance.now());
    connection.send(build(i), (error, response) => {
      inFlightStart.delete(connection);
      complete(slot, error, response);
      onDone(response?.retryAfterMs ?? 0);
    });
  };

  // Requests unanswered for too long: count them and replace their connection.
  const timeoutSweep = setInterval(
    () => {
      const now = performance.now();
      for (const [connection, started] of inFlightStart) {
        if (now - started > job.requestTimeoutMs) {
          inFlightStart.delete(connection);
          connection.destroy(timedOut);
        }
      }
    },
    Math.min(1000, job.requestTimeoutMs),
  );

  if (job.mode === 'closed') {
    await new Promise<void>((resolve) => {
      let loops = job.connections;
      const loop = (connection: HttpConnection) => {
        const now = performance.now();
        if (stopping || now >= windowEnd) {
          connection.destroy();
          if (--loops === 0) resolve();
          return;
        }
        const inWindow = now >= windowStart;
        if (inWindow) sent++;
        // A shed answer says when to come back: this client waits that long (half to all of it,
        // so 500 loops do not return in lockstep), as a well-behaved client would.
        send(connection, { due: now, inWindow }, (backOffMs) => {
          if (backOffMs > 0)
            setTimeout(() => loop(connection), backOffMs * (0.5 + Math.random() / 2));
          else loop(connection);
        });
      };
      for (let c = 0; c < job.connections; c++) loop(newConnection());
      // Answers that never come must not hold the run forever.
      setTimeout(
        () => {
          stopping = true;
          for (const c of all) c.destroy(unansweredAtEnd);
        },
        job.warmupMs + job.durationMs + job.drainMs,
      ).unref();
    });
  } else {
    const rate = job.rate ?? 1;
    const queue: Slot[] = [];
    let issued = 0;
    const totalMs = job.warmupMs + job.durationMs;
    // A connection idle for longer than this is closed rather than reused: the services close
    // kept-alive connections after 5 s (their keep-alive timeout), and a request sent on one at
    // that instant fails with ECONNRESET — a client's race, not the server's answer.
    const maxIdleMs = 2000;
    const idleSince = new Map<HttpConnection, number>();
    const take = (): HttpConnection | undefined => {
      for (let c = idle.pop(); c; c = idle.pop()) {
        const since = idleSince.get(c) ?? 0;
        idleSince.delete(c);
        if (performance.now() - since <= maxIdleMs) return c;
        c.destroy();
        all.delete(c);
      }
      return all.size < job.connections ? newConnection() : undefined;
    };
    const dispatch = (connection: HttpConnection, slot: Slot) => {
      send(connection, slot, () => {
        const next = queue.shift();
        if (next) dispatch(connection, next);
        else {
          idleSince.set(connection, performance.now());
          idle.push(connection);
        }
      });
    };
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const elapsed = Math.min(now - t0, totalMs);
        const due = Math.floor((elapsed / 1000) * rate);
        while (issued < due) {
          const dueAt = t0 + (issued / rate) * 1000;
          issued++;
          const slot = { due: dueAt, inWindow: dueAt >= windowStart && dueAt < windowEnd };
          if (slot.inWindow) sent++;
          const connection = take();
          if (connection) dispatch(connection, slot);
          else queue.push(slot);
        }
        if (queue.length > maxQueued) maxQueued = queue.length;
        if (now - t0 < totalMs) {
          setTimeout(tick, 1);
          return;
        }
        const deadline = now + job.drainMs;
        const wait = () => {
          if ((inFlight === 0 && queue.length === 0) || performance.now() > deadline) resolve();
          else setTimeout(wait, 20);
        };
        wait();
      };
      tick();
    });
    // Requests still queued in the generator at the end were due and never sent: failures with no
    // answer. Taken off the queue first, so the answers destroyed below do not dispatch them.
    for (const slot of queue.splice(0)) {
      if (slot.inWindow) recordFailure(slot, neverSent, true);
    }
  }
  stopping = true;
  clearInterval(timeoutSweep);
  // requests still waiting fail (and are counted) as "unanswered at end"
  for (const c of all) c.destroy(unansweredAtEnd);
  const cpu = process.cpuUsage(cpuStart);
  return {
    job: { ...job, authHeaders: undefined, skus: undefined },
    sent,
    statuses,
    errors,
    latency: latency.serialize(),
    acceptedLatency: acceptedLatency.serialize(),
    completedInWindow,
    acceptedInWindow,
    windowMs: job.durationMs,
    acceptedPerSecond,
    maxQueued,
    connectionsOpened,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    elapsedMs: performance.now() - t0,
    windowStartEpochMs,
    ...(sampleErrorBody === undefined ? {} : { sampleErrorBody }),
  };
}
