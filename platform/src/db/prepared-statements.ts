import { createHash } from 'node:crypto';
import type { QueryConfig } from 'pg';

/**
 * Named (server-side prepared) statements for parameterised SQL. PostgreSQL then parses and
 * analyses each statement text once per connection instead of on every execution; in the order
 * saga that parsing was a quarter of PostgreSQL's CPU (perf: base_yyparse, core_yylex,
 * copyObjectImpl). node-postgres prepares a named statement on its first use on a connection and
 * sends only Bind/Execute afterwards.
 *
 * Only statements with parameters are named — those are the fixed texts of the repositories;
 * parameterless SQL (BEGIN, COMMIT, migrations) stays unnamed. The name is derived from the text,
 * so one text is one statement on every connection; the cache is bounded so code that builds SQL
 * text dynamically cannot grow it (or the server's per-connection statements) without limit.
 */
export class PreparedStatements {
  private readonly names = new Map<string, string>();

  constructor(private readonly maxStatements = 512) {}

  config(text: string, values: readonly unknown[] | undefined): string | QueryConfig {
    if (values === undefined || values.length === 0) return text;
    let name = this.names.get(text);
    if (name === undefined) {
      if (this.names.size >= this.maxStatements) return { text, values: values as unknown[] };
      name = `orderly_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
      this.names.set(text, name);
    }
    return { name, text, values: values as unknown[] };
  }
}
