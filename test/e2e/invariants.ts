import { join } from 'node:path';
import { expect } from 'vitest';
import {
  readDeadLetterStream,
  waitForInvariants,
  type DeadLetterSummary,
  type Sql,
} from '@orderly/chaos/invariants';
import { natsUrl, type DistributedSystem } from './system-harness.js';

/**
 * The end-to-end tests' view of the shared invariants (tools/chaos/src/invariants.ts, also used by
 * the benchmark and the chaos drills): wait until every one holds, or fail naming what broke.
 */
export type SqlRunner = Sql;

/** `services.notification.outputFile` in config/default.yaml: the file sink under dataDir. */
const notificationOutputFile = 'notifications.jsonl';

/** What the checker reads of one running system besides its databases. */
export interface E2eRun {
  readonly sql: SqlRunner;
  /** The services' `dataDir`: the notification sink writes there. */
  readonly dataDir: string;
  /** The JetStream dead-letter stream to read, or why the dead letters cannot be read (a waiver). */
  readonly deadLetters:
    { readonly natsUrl: string; readonly stream: string } | { readonly waived: string };
}

/** A distributed system's run: its databases, its dataDir and its own dead-letter stream. */
export function distributedRun(system: DistributedSystem): E2eRun {
  return {
    sql: system.sql.bind(system),
    dataDir: system.dataDir,
    // The stream the harness gives the services (ORDERLY_BUS__DEAD_LETTER_STREAM), read directly.
    deadLetters: { natsUrl, stream: `E2E_${system.id}_DL` },
  };
}

// The e2e client (system-harness placeOrder) does not keep the idempotency keys it sends, so
// phantoms cannot be told from orders a client asked for; accepted ids are checked instead.
const phantomWaiver =
  'the end-to-end client does not record the idempotency keys it sends; accepted order ids are checked';

export async function checkInvariants(
  run: E2eRun | DistributedSystem,
  acceptedIds: readonly string[],
  stockAtStart: Readonly<Record<string, number>>,
  timeoutMs = 90_000,
): Promise<{ confirmed: number; cancelled: Record<string, number> }> {
  const { sql, dataDir, deadLetters: source } = 'deadLetters' in run ? run : distributedRun(run);
  let deadLetters: DeadLetterSummary[] | undefined;
  const { report } = await waitForInvariants(
    sql,
    {
      acceptedIds,
      stockAtStart,
      outboxServices: ['order', 'inventory', 'payment', 'notification'],
      notificationOutputFile: join(dataDir, notificationOutputFile),
      // Read before each check (below); none are injected, so any dead letter is unexplained.
      get deadLetters() {
        return deadLetters;
      },
      waivers: {
        'no-phantom-order': phantomWaiver,
        ...('waived' in source ? { 'dead-letters-explained': source.waived } : {}),
      },
    },
    {
      timeoutMs,
      intervalMs: 250,
      beforeCheck: async () => {
        if ('stream' in source)
          deadLetters = await readDeadLetterStream(source.natsUrl, source.stream);
      },
    },
  );
  expect(report.problems, 'invariants broken after the run').toEqual([]);
  return { confirmed: report.confirmed, cancelled: report.cancelled };
}
