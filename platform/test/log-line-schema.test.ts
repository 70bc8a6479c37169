import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, describe, expect, test } from 'vitest';
import {
  AppError,
  createLogger,
  loadConfigDocument,
  parseConfigSection,
  platformConfigSchema,
  type Telemetry,
} from '../src/index.js';
import { createTelemetry } from '../src/telemetry/index.js';
import { logLineCheck, LogLineCollector, logLineSchemaFile } from '../src/testing/index.js';

/**
 * The log schema (platform/src/log/log-line.schema.json) is the contract of every stdout line: what
 * the platform's logger really writes passes it, lines that break it are rejected, and every field
 * any log call in the repository passes is declared in it. The end-to-end runs check every line the
 * services wrote (test/e2e/log-schema.test.ts and the harness).
 */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const check = logLineCheck();

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return { lines, stream };
}

const started: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.shutdown()));
});

describe('log schema', () => {
  test('when the platform logger writes the documented kinds of line, then each one is valid', async () => {
    // Arrange
    const { lines, stream } = capture();
    const log = createLogger({
      service: 'order',
      level: 'debug',
      version: '1.2.3',
      environment: 'production',
      destination: stream,
    });
    const platform = parseConfigSection(
      platformConfigSchema,
      loadConfigDocument({ argv: [], env: {}, overrides: { logLevel: 'silent' } }).document,
    );
    const telemetry = createTelemetry({ service: 'order', platform, log });
    started.push(telemetry);

    // Act
    log.info('order started');
    log.info(
      {
        'http.method': 'POST',
        'http.route': '/v1/orders',
        'http.status_code': 202,
        duration_ms: 3.1,
      },
      'request handled',
    );
    await telemetry.inSpan('placeOrder', {}, () => {
      log.info({ orderId: 'o-1', eventIds: ['e-1', 'e-2'] }, 'order placed');
      return Promise.resolve();
    });
    log.error(
      { err: new AppError('ORDER_NOT_FOUND', 'no such order', { cause: new Error('gone') }) },
      'request failed',
    );
    log.warn(
      { err: 'a thrown string', subscription: 'order.stock-results' },
      'event handling failed',
    );
    log.error(new Error('an error as the only argument'));

    // Assert
    expect(lines).toHaveLength(6);
    expect(lines.map((line) => check(line))).toEqual(lines.map(() => undefined));
    expect(lines[2]).toMatch(/"trace_id":"[0-9a-f]{32}","span_id":"[0-9a-f]{16}"/);
  });

  test.each([
    ['not JSON', 'Orderly is running', 'not JSON'],
    [
      'a field the schema does not declare',
      '{"level":"info","time":"2026-01-31T10:00:00.123Z","service.name":"order","msg":"x","cardNumber":"[redacted]"}',
      'field "cardNumber" is not in the log schema',
    ],
    [
      'no service',
      '{"level":"info","time":"2026-01-31T10:00:00.123Z","msg":"x"}',
      "must have required property 'service.name'",
    ],
    [
      "pino's numeric level",
      '{"level":30,"time":"2026-01-31T10:00:00.123Z","service.name":"order","msg":"x"}',
      '/level must be equal to one of the allowed values',
    ],
    [
      'an epoch time',
      '{"level":"info","time":1769853600123,"service.name":"order","msg":"x"}',
      '/time must be string',
    ],
    [
      'a trace id without its span',
      '{"level":"info","time":"2026-01-31T10:00:00.123Z","service.name":"order","msg":"x","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}',
      'must have property span_id when property trace_id is present',
    ],
    [
      'a request line without its route',
      '{"level":"info","time":"2026-01-31T10:00:00.123Z","service.name":"gateway","msg":"request handled","http.method":"GET","http.status_code":200,"duration_ms":1}',
      "must have required property 'http.route'",
    ],
    [
      'an interpolated-looking empty message',
      '{"level":"info","time":"2026-01-31T10:00:00.123Z","service.name":"order","msg":""}',
      '/msg must NOT have fewer than 1 characters',
    ],
  ])('when a line has %s, then it is rejected', (_case, line, problem) => {
    expect(check(line)).toContain(problem);
  });

  test('when output arrives in chunks that split lines, then each whole line is checked once', () => {
    const collector = new LogLineCollector();
    const valid =
      '{"level":"info","time":"2026-01-31T10:00:00.123Z","service.name":"order","msg":"x"}';
    collector.write('order', `${valid}\n${valid.slice(0, 20)}`);
    collector.write('order', `${valid.slice(20)}\nnot a log line\n`);
    collector.write('order', valid);
    collector.end('order');

    expect(collector.counts.get('order')).toBe(3);
    expect(collector.problems).toEqual([
      { source: 'order', line: 'not a log line', problem: 'not JSON' },
    ]);
  });
});

describe('log fields in the source', () => {
  const declared = new Set(
    Object.keys(
      (JSON.parse(readFileSync(logLineSchemaFile, 'utf8')) as { properties: object }).properties,
    ),
  );

  test('when a log call passes a field, then the schema declares it', () => {
    const files = execFileSync('git', ['ls-files', '--', 'platform/src', 'services', 'tools'], {
      cwd: repoRoot,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(
        (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !/\/(test|fixtures)\//.test(f),
      );
    const undeclared: string[] = [];
    let fields = 0;
    for (const file of files) {
      for (const field of logFields(file, readFileSync(`${repoRoot}${file}`, 'utf8'))) {
        fields++;
        if (!declared.has(field.name)) undeclared.push(`${field.where}: ${field.name}`);
      }
    }
    expect(fields).toBeGreaterThan(100);
    expect(undeclared).toEqual([]);
  });

  test('when a new field is logged without changing the schema, then the scan names it', () => {
    const source = `
      const fields = { orderId, customerEmail: email };
      deps.log.info(fields, 'order placed');
      this.log?.warn({ err: error, retryInMs: 5 }, 'retrying');
      reply.code(404).send({ notALogField: 1 }, 'x');`;
    const found = logFields('services/x/src/a.ts', source)
      .map((f) => f.name)
      .filter((name) => !declared.has(name));
    expect(found).toEqual(['customerEmail', 'retryInMs']);
  });
});

const logMethods = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/**
 * The fields of every `<logger>.<level>({ ... }, 'message')` call in a file: the object's property
 * names, also when it is a `const` declared in the file. A logger is a receiver whose name ends in
 * `log` or `logger` (`log`, `this.log`, `deps.log`, `this.options.log?`).
 */
function logFields(file: string, text: string): { name: string; where: string }[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const objects = new Map<string, ts.ObjectLiteralExpression>();
  const calls: ts.CallExpression[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.initializer &&
      ts.isObjectLiteralExpression(node.initializer)
    )
      objects.set(node.name.text, node.initializer);
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      logMethods.has(node.expression.name.text) &&
      /(^|\.)(log|logger)$/i.test(node.expression.expression.getText(source).replace(/\?$/, '')) &&
      node.arguments.length >= 2
    )
      calls.push(node);
    ts.forEachChild(node, visit);
  };
  visit(source);
  const fields: { name: string; where: string }[] = [];
  for (const call of calls) {
    const first = call.arguments[0]!;
    const object = ts.isObjectLiteralExpression(first)
      ? first
      : ts.isIdentifier(first)
        ? objects.get(first.text)
        : undefined;
    if (!object) continue;
    const where = `${file}:${source.getLineAndCharacterOfPosition(call.getStart(source)).line + 1}`;
    for (const property of object.properties) {
      const name = property.name;
      if (!name) continue;
      if (ts.isIdentifier(name) || ts.isStringLiteral(name))
        fields.push({ name: name.text, where });
    }
  }
  return fields;
}
