import { AppError } from '../errors/index.js';

/**
 * Whether an error says a dependency (the database, the broker, a callee, a provider behind a
 * port) could not be reached, rather than that this particular piece of work is wrong. Such a
 * failure is nobody's message's fault: consumers back off and try again later instead of
 * dead-lettering, and callers see "unavailable" rather than "internal".
 *
 * Recognised anywhere in the cause chain: an `AppError` of kind `unavailable` (how ports and the
 * platform say "unreachable", e.g. PAYMENT_PROVIDER_UNAVAILABLE, DATABASE_UNREACHABLE, an open
 * circuit), network errnos, PostgreSQL connection states and pg's lost-connection messages. A
 * permanent error is never a dependency failure, whatever its kind.
 */
const networkErrnos = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// PostgreSQL: 08xxx connection exceptions, 57P01-57P03 shutdown / cannot connect now, 53300 too many connections.
const postgresStates = /^(08...|57P0[123]|53300)$/;
const lostConnectionMessages =
  /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Connection ended unexpectedly/i;

export function isDependencyFailure(error: unknown): boolean {
  for (
    let e: unknown = error, depth = 0;
    e !== null && typeof e === 'object' && depth < 8;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    if (e instanceof AppError) {
      if (e.permanent) return false;
      if (e.kind === 'unavailable') return true;
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (networkErrnos.has(code) || postgresStates.test(code)))
      return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && lostConnectionMessages.test(message)) return true;
  }
  return false;
}
