import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ajvDraft04 from 'ajv-draft-04';
import { describe, expect, test } from 'vitest';
import { formatSarif } from '../src/report/sarif-formatter.ts';
import { badFixture, checkFixture, goodFixture, guardRoot } from './guard-runner.ts';

// CommonJS package: under NodeNext the default import is `module.exports`, whose `.default` is the class.
const Ajv = ajvDraft04.default;

// The SARIF 2.1.0 schema (rtm.5, as published on schemastore), vendored because tests run offline.
const schema = JSON.parse(
  readFileSync(join(guardRoot, 'test', 'sarif-schema-2.1.0.json'), 'utf8'),
) as object;

function sarifValidator() {
  // unicodeRegExp off: the published rtm.5 schema has a `language` pattern that is invalid in unicode mode.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  // The three formats the schema uses, checked the way SARIF consumers read them.
  ajv.addFormat('uri', (value: string) => URL.canParse(value));
  ajv.addFormat('uri-reference', (value: string) => URL.canParse(value, 'file:///'));
  ajv.addFormat(
    'date-time',
    (value: string) => /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value)),
  );
  return ajv.compile(schema);
}

describe('SARIF output', () => {
  test('when the bad fixture is reported as SARIF, then the log validates against the SARIF 2.1.0 schema', () => {
    const result = checkFixture(badFixture);
    const log = JSON.parse(formatSarif(result.findings, result.root, '0.1.0')) as {
      version: string;
      runs: {
        results: {
          ruleId: string;
          locations: { physicalLocation: { region: { startLine: number } } }[];
        }[];
      }[];
    };
    const validate = sarifValidator();
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]?.results).toHaveLength(result.findings.length);
    expect(log.runs[0]?.results[0]?.locations[0]?.physicalLocation.region.startLine).toBe(
      result.findings[0]?.line,
    );
  });

  test('when there are no findings, then the SARIF log is still valid with an empty result list', () => {
    const result = checkFixture(goodFixture);
    const log = JSON.parse(formatSarif(result.findings, result.root, '0.1.0')) as {
      runs: { results: unknown[] }[];
    };
    expect(sarifValidator()(log)).toBe(true);
    expect(log.runs[0]?.results).toEqual([]);
  });

  test('when the log breaks the schema, then the validator notices (the check is not vacuous)', () => {
    const validate = sarifValidator();
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).toBe(false);
    expect(validate({ version: '2.0.0', runs: [] })).toBe(false);
  });
});
