import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';

/**
 * The log schema as a check: `platform/src/log/log-line.schema.json` compiled with ajv. Tests hand
 * it every line a service wrote (the end-to-end runs: every stdout line of every process); a line
 * that is not JSON, or has a field the schema does not declare, is a problem.
 */
export const logLineSchemaFile = fileURLToPath(
  new URL('../log/log-line.schema.json', import.meta.url),
);

export interface LogLineProblem {
  /** Where the line came from (a service, a process label). */
  readonly source: string;
  readonly line: string;
  readonly problem: string;
}

/** A checker for single lines: `undefined` when the line is valid, else what is wrong with it. */
export type LogLineCheck = (line: string) => string | undefined;

export function logLineCheck(): LogLineCheck {
  const schema = JSON.parse(readFileSync(logLineSchemaFile, 'utf8')) as object;
  const validate = new Ajv2020({
    allErrors: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
  }).compile(schema);
  // strictRequired off: the request line's `then` requires fields declared at the top level.
  return (line) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return 'not JSON';
    }
    if (validate(parsed)) return undefined;
    return (validate.errors ?? []).map(describe).join('; ');
  };
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties')
    return `field "${String(params.additionalProperty)}" is not in the log schema`;
  return `${error.instancePath || '(line)'} ${error.message ?? error.keyword}`;
}

/**
 * Collects the problems of lines as they arrive (e.g. a child process's stdout, chunk by chunk):
 * `write` takes raw chunks and splits them into lines, keeping a partial last line for the next one.
 */
export class LogLineCollector {
  readonly problems: LogLineProblem[] = [];
  /** Valid lines seen, per source. */
  readonly counts = new Map<string, number>();
  private readonly check = logLineCheck();
  private readonly partial = new Map<string, string>();

  write(source: string, chunk: string | Buffer): void {
    const text = (this.partial.get(source) ?? '') + chunk.toString();
    const lines = text.split('\n');
    this.partial.set(source, lines.pop() ?? '');
    for (const line of lines) this.line(source, line);
  }

  /**
   * Checks what is left of a source's output (a last line without a newline). `cut`: the process
   * was killed (-9), so a last line it was writing is an artefact of the kill and is dropped.
   */
  end(source: string, options: { readonly cut?: boolean } = {}): void {
    const rest = this.partial.get(source);
    this.partial.delete(source);
    if (rest && !options.cut) this.line(source, rest);
  }

  line(source: string, line: string): void {
    if (line === '') return;
    const problem = this.check(line);
    if (problem) this.problems.push({ source, line: line.slice(0, 2000), problem });
    else this.counts.set(source, (this.counts.get(source) ?? 0) + 1);
  }

  /** The problems as text for an assertion message (the first `limit`). */
  report(limit = 20): string {
    return this.problems
      .slice(0, limit)
      .map((p) => `[${p.source}] ${p.problem}\n  ${p.line}`)
      .join('\n');
  }
}
