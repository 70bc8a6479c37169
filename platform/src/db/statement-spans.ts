import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  trace,
  type Attributes,
  type Tracer,
} from '@opentelemetry/api';
import { summarizeStatement } from './statement-summary.js';

/**
 * A CLIENT span around each statement sent to PostgreSQL, following the database semantic
 * conventions: `db.system`/`db.system.name` = `postgresql`, `db.namespace` (the database),
 * `db.operation.name`, `db.collection.name` and `db.query.summary` (`INSERT orders`), named by the
 * summary. Neither the statement text nor its parameters are recorded, and a failure records its
 * SQLSTATE but not its message (PostgreSQL quotes offending values in messages).
 *
 * A statement gets a span only inside a sampled trace: with no active span, or an unsampled one, it
 * costs one context lookup. Work that is not part of a request or a delivery (migrations, the
 * relay's safety pass, sweepers) therefore starts no traces of its own.
 */
export class StatementSpans {
  private readonly base: Attributes;
  private readonly summaries = new Map<string, Attributes>();

  constructor(
    private readonly tracer: Tracer,
    target: { readonly database: string; readonly url: string },
    private readonly maxSummaries = 512,
  ) {
    const url = new URL(target.url);
    this.base = {
      'db.system': 'postgresql',
      'db.system.name': 'postgresql',
      'db.namespace': target.database,
      'server.address': url.hostname,
      ...(url.port ? { 'server.port': Number(url.port) } : {}),
    };
  }

  /**
   * Runs `work`, which sends `text`, inside the statement's span. `fixedText`: the text is one of
   * the service's fixed statements (its values are parameters); otherwise values may be written in
   * it as literals.
   */
  run<T>(text: string, fixedText: boolean, work: () => Promise<T>): Promise<T> {
    const parent = context.active();
    const active = trace.getSpan(parent);
    if (!active || (active.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return work();
    const attributes = this.attributes(text, fixedText);
    const span = this.tracer.startSpan(
      attributes['db.query.summary'] as string,
      { kind: SpanKind.CLIENT, attributes },
      parent,
    );
    return work().then(
      (result) => {
        span.end();
        return result;
      },
      (error: unknown) => {
        const state = postgresErrorState(error);
        const type = state ?? (error instanceof Error ? error.name : '_OTHER');
        if (state !== undefined) span.setAttribute('db.response.status_code', state);
        span.setAttribute('error.type', type);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        throw error;
      },
    );
  }

  /**
   * The span's attributes for `text`, remembered for the statements a service sends again and
   * again. A text with values written into it (the inbox rows sent with BEGIN, escaped literals) is
   * remembered by its shape, its literals emptied: the summary never depends on a literal, and the
   * value itself is not kept.
   */
  private attributes(text: string, fixedText: boolean): Attributes {
    const key = fixedText ? text : text.replace(quotedLiterals, "''");
    const known = this.summaries.get(key);
    if (known) return known;
    const { summary, operation, collection } = summarizeStatement(text);
    const attributes: Attributes = {
      ...this.base,
      'db.query.summary': summary || 'SQL',
      ...(operation === undefined ? {} : { 'db.operation.name': operation }),
      ...(collection === undefined ? {} : { 'db.collection.name': collection }),
    };
    // Bounded, so code that builds many different texts cannot grow the map.
    if (this.summaries.size < this.maxSummaries) this.summaries.set(key, attributes);
    return attributes;
  }
}

/** Standard SQL string literals, quotes doubled inside (what pg.escapeLiteral writes). */
const quotedLiterals = /'(?:[^']|'')*'/g;

/** The SQLSTATE of an error PostgreSQL answered (node-postgres' DatabaseError), else undefined. */
export function postgresErrorState(error: unknown): string | undefined {
  if (!(error instanceof Error) || !('severity' in error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
