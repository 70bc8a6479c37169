/**
 * What a SQL text does, for the span around it: its operations and the tables they name, read from
 * keywords and identifiers only. String literals, dollar-quoted bodies, numbers, parameters and
 * comments are skipped, so no value in the text can reach the summary.
 */
export interface StatementSummary {
  /** `db.query.summary`: operations and their tables in the order they appear, `INSERT orders SELECT`. */
  readonly summary: string;
  /** `db.operation.name`: the first data operation (`INSERT`), else the first word (`BEGIN`). */
  readonly operation: string | undefined;
  /** `db.collection.name`: the table of that operation, when it names one. */
  readonly collection: string | undefined;
}

/** The semantic conventions ask for a summary of at most 255 characters. */
const summaryLength = 255;
const dataOperations = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE']);
/** Statements that only frame a transaction: the operation of `BEGIN; INSERT …` is the INSERT. */
const framing = new Set(['BEGIN', 'COMMIT', 'ROLLBACK', 'SET', 'SAVEPOINT', 'RELEASE', 'START']);
/** Words after which UPDATE or DELETE is not an operation (`FOR UPDATE`, `DO UPDATE`, `ON DELETE`). */
const notAnOperationAfter = new Set(['FOR', 'DO', 'KEY', 'ON']);
/** Words that may stand between a clause and its table (`FROM ONLY t`, `IF NOT EXISTS t`). */
const beforeTable = new Set(['ONLY', 'LATERAL', 'IF', 'NOT', 'EXISTS', 'TABLE']);

type Token =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'open' }
  | { readonly kind: 'close' }
  | { readonly kind: 'comma' }
  | { readonly kind: 'end' }
  | { readonly kind: 'other' };

/** An operation found in the text, with the tables it names, in the statement it belongs to. */
interface Operation {
  readonly name: string;
  readonly tables: string[];
  readonly statement: number;
}

export function summarizeStatement(text: string): StatementSummary {
  const operations: Operation[] = [];
  let statement = 0;
  let statementStart = true;
  /** The first word of the first statement that does more than frame a transaction. */
  let leading: string | undefined;
  let firstWord: string | undefined;
  /** Per parenthesis depth: the SELECT, UPDATE or DELETE whose FROM/JOIN names tables there. */
  const clauses: (Operation | undefined)[] = [undefined];
  /** The operation whose table the next identifier names, and after which word. */
  let expecting: { operation: Operation; clause: string } | undefined;
  /** Names of common table expressions (`WITH changed AS (…)`): not tables. */
  const expressions = new Set<string>();
  let inWith = false;
  let expressionNameNext = false;
  let previous = '';
  const add = (name: string) => {
    const operation = { name, tables: [], statement };
    operations.push(operation);
    return operation;
  };

  const tokens = tokenize(text);
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    const depth = clauses.length - 1;
    if (token.kind !== 'word') {
      expecting = undefined;
      if (token.kind === 'end') {
        statement++;
        statementStart = true;
        clauses.length = 1;
        clauses[0] = undefined;
        inWith = false;
        expressionNameNext = false;
      } else if (token.kind === 'open') {
        clauses.push(undefined);
      } else if (token.kind === 'close') {
        if (clauses.length > 1) clauses.pop();
      } else if (token.kind === 'comma' && inWith && depth === 0) {
        expressionNameNext = true;
      }
      previous = token.kind === 'open' ? '(' : '';
      continue;
    }
    const word = token.text;
    const upper = word.toUpperCase();
    if (expecting) {
      if (beforeTable.has(upper)) continue;
      const next = tokens[index + 1];
      // `FROM unnest(…)` calls a function; `INTO orders (…)` names a table and its columns.
      const isFunction =
        (expecting.clause === 'FROM' || expecting.clause === 'JOIN') && next?.kind === 'open';
      if (!isFunction && !isKeyword(upper)) {
        const table = word.replace(/"/g, '');
        if (!expressions.has(table.toLowerCase())) expecting.operation.tables.push(table);
        expecting = undefined;
        previous = upper;
        continue;
      }
      expecting = undefined;
    }
    if (statementStart) {
      statementStart = false;
      // A common table expression: its body holds the operations.
      if (upper === 'WITH') {
        inWith = true;
        expressionNameNext = true;
        previous = upper;
        continue;
      }
      firstWord ??= upper;
      if (!framing.has(upper)) leading ??= upper;
      if (!dataOperations.has(upper)) {
        const operation = add(upper);
        if (upper === 'TRUNCATE' || upper === 'LOCK') expecting = { operation, clause: upper };
        previous = upper;
        continue;
      }
    }
    if (expressionNameNext) {
      if (upper === 'RECURSIVE') continue;
      expressions.add(word.replace(/"/g, '').toLowerCase());
      expressionNameNext = false;
      previous = upper;
      continue;
    }
    if (dataOperations.has(upper) && !notAnOperationAfter.has(previous)) {
      const operation = add(upper);
      if (depth === 0) inWith = false;
      if (upper !== 'INSERT' && upper !== 'MERGE') clauses[depth] = operation;
      if (upper === 'UPDATE') expecting = { operation, clause: upper };
    } else if ((upper === 'FROM' || upper === 'JOIN' || upper === 'USING') && clauses[depth]) {
      expecting = { operation: clauses[depth], clause: upper === 'USING' ? 'FROM' : upper };
    } else if (
      (upper === 'INTO' && (previous === 'INSERT' || previous === 'MERGE')) ||
      (upper === 'TABLE' && (previous === 'CREATE' || previous === 'ALTER'))
    ) {
      const last = operations[operations.length - 1];
      if (last) expecting = { operation: last, clause: upper };
    }
    previous = upper;
  }
  return {
    summary: summaryOf(operations, statement),
    ...mainOperation(operations, leading, firstWord),
  };
}

/**
 * Each statement's operations that name tables (`INSERT orders`), or its bare operations when none
 * does (`BEGIN`); repeated neighbours once; statements separated by `;`.
 */
function summaryOf(operations: readonly Operation[], statements: number): string {
  const parts: string[] = [];
  for (let statement = 0; statement <= statements; statement++) {
    const own = operations.filter((o) => o.statement === statement);
    const named = own.some((o) => o.tables.length > 0)
      ? own.filter((o) => o.tables.length > 0)
      : own;
    const words: string[] = [];
    for (const operation of named) {
      const part = [operation.name, ...operation.tables].join(' ');
      if (words[words.length - 1] !== part) words.push(part);
    }
    if (words.length > 0) parts.push(words.join(' '));
  }
  let summary = '';
  for (const part of parts.join('; ').split(' ')) {
    const next = summary === '' ? part : `${summary} ${part}`;
    if (next.length > summaryLength) break;
    summary = next;
  }
  return summary;
}

/**
 * `db.operation.name` and `db.collection.name`: the first data operation that names a table (else
 * the first one); but `BEGIN; SET LOCAL …` only frames a transaction, and `EXPLAIN SELECT …` or
 * `CREATE TABLE …` is what its first word says.
 */
function mainOperation(
  operations: readonly Operation[],
  leading: string | undefined,
  firstWord: string | undefined,
): { operation: string | undefined; collection: string | undefined } {
  const firstTable = operations.find((o) => o.tables.length > 0)?.tables[0];
  if (leading !== undefined && !dataOperations.has(leading))
    return { operation: leading, collection: firstTable };
  const data = operations.filter((o) => dataOperations.has(o.name));
  const main = data.find((o) => o.tables.length > 0) ?? data[0];
  if (main) return { operation: main.name, collection: main.tables[0] };
  return { operation: firstWord, collection: firstTable };
}

const keywords = new Set([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
  'WHERE',
  'SET',
  'VALUES',
  'DEFAULT',
  'RETURNING',
  'ON',
  'USING',
  'AS',
  'ORDER',
  'GROUP',
  'LIMIT',
  'WITH',
]);
const isKeyword = (upper: string) => keywords.has(upper);

/**
 * Words (identifiers and keywords, `schema.table` and `"quoted"` as one word), parentheses and
 * statement ends; everything else (literals, numbers, `$1`, operators) is `other` and carries no text.
 */
const open: Token = { kind: 'open' };
const close: Token = { kind: 'close' };
const comma: Token = { kind: 'comma' };
const end: Token = { kind: 'end' };
const other: Token = { kind: 'other' };
const identifierPattern = /[A-Za-z_][A-Za-z0-9_$]*/y;
const dollarTagPattern = /\$[A-Za-z_]?[A-Za-z0-9_]*\$/y;
const isIdentifierStart = (code: number) =>
  (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
const isDigit = (code: number) => code >= 48 && code <= 57;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const length = text.length;
  while (i < length) {
    const c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (c === 32 || c === 10 || c === 9 || c === 13) {
      i++;
    } else if (c === 45 && next === 45) {
      // -- comment
      const lineEnd = text.indexOf('\n', i);
      i = lineEnd < 0 ? length : lineEnd + 1;
    } else if (c === 47 && next === 42) {
      // /* comment */
      const commentEnd = text.indexOf('*/', i + 2);
      i = commentEnd < 0 ? length : commentEnd + 2;
    } else if (c === 39) {
      i = skipQuoted(text, i, "'");
      tokens.push(other);
    } else if (c === 36 && !isDigit(next)) {
      // $tag$ … $tag$ (a $1 parameter is `other` below)
      dollarTagPattern.lastIndex = i;
      const tag = dollarTagPattern.exec(text)?.[0];
      if (tag === undefined) {
        i++;
      } else {
        const bodyEnd = text.indexOf(tag, i + tag.length);
        i = bodyEnd < 0 ? length : bodyEnd + tag.length;
      }
      tokens.push(other);
    } else if (c === 40) {
      tokens.push(open);
      i++;
    } else if (c === 41) {
      tokens.push(close);
      i++;
    } else if (c === 59) {
      tokens.push(end);
      i++;
    } else if (c === 44) {
      tokens.push(comma);
      i++;
    } else if (c === 34 || isIdentifierStart(c)) {
      // E'…', B'…', X'…' and U&'…' literals start like a word.
      if (next === 39 && /[EeBbXxUu]/.test(text[i]!)) {
        i = skipQuoted(text, i + 1, "'");
        tokens.push(other);
        continue;
      }
      let word = '';
      for (;;) {
        if (text.charCodeAt(i) === 34) {
          const quoteEnd = skipQuoted(text, i, '"');
          word += text.slice(i, quoteEnd);
          i = quoteEnd;
        } else {
          identifierPattern.lastIndex = i;
          const match = identifierPattern.exec(text);
          if (!match) break;
          word += match[0];
          i += match[0].length;
        }
        const after = text.charCodeAt(i + 1);
        if (text.charCodeAt(i) === 46 && (after === 34 || isIdentifierStart(after))) {
          word += '.';
          i++;
          continue;
        }
        break;
      }
      tokens.push({ kind: 'word', text: word });
    } else {
      // Numbers, parameters ($1), operators, casts (::): nothing a summary names.
      i++;
      if (isDigit(c) || c === 36 || c === 46)
        while (i < length) {
          const d = text.charCodeAt(i);
          if (!(isDigit(d) || isIdentifierStart(d) || d === 46)) break;
          i++;
        }
      tokens.push(other);
    }
  }
  return tokens;
}

/** The index after the quoted run starting at `start` (a doubled quote is part of it). */
function skipQuoted(text: string, start: number, quote: string): number {
  let i = start + 1;
  for (;;) {
    const end = text.indexOf(quote, i);
    if (end < 0) return text.length;
    if (text[end + 1] === quote) {
      i = end + 2;
      continue;
    }
    return end + 1;
  }
}
