import { neverSent, timedOut, unansweredAtEnd } from './loadgen/worker.js';
import type { FailureCounts } from './report-types.js';

const noAnswer = new Set([timedOut, unansweredAtEnd, neverSent]);

/** Every request of the window that was not accepted, by kind (sent = accepted + these). */
export function failureCounts(
  okStatus: number,
  statuses: Readonly<Record<string, number>>,
  errors: Readonly<Record<string, number>>,
): FailureCounts {
  const otherStatuses: Record<string, number> = {};
  let shed = 0;
  for (const [status, count] of Object.entries(statuses)) {
    if (status === String(okStatus)) continue;
    if (status === '503') shed += count;
    else otherStatuses[status] = count;
  }
  let unanswered = 0;
  let broken = 0;
  for (const [error, count] of Object.entries(errors)) {
    if (noAnswer.has(error)) unanswered += count;
    else broken += count;
  }
  const other = Object.values(otherStatuses).reduce((a, b) => a + b, 0);
  const total = shed + other + unanswered + broken;
  return { total, shed, otherStatuses, noAnswer: unanswered, connectionErrors: broken };
}
