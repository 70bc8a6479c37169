import { existsSync, globSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { drill, needsPostgresOrNats } from '../../vitest.config.js';

/**
 * `npm run test:unit` promises tests that need no PostgreSQL or NATS. A test that starts a service
 * with a database, a test database or a NATS bus belongs in vitest.config.ts's needsPostgresOrNats
 * (or, when it starts its own servers, in its drill list).
 */
const root = new URL('../../', import.meta.url);
const usesPostgresOrNats =
  /TestDatabase|startTestApp|test-app|NatsBus|natsUrl|dropTestDatabase|from 'pg'|ORDERLY_TEST_(POSTGRES|NATS)_URL|bench\/src\/main/;

test('when a test outside needsPostgresOrNats is read, then it starts no PostgreSQL or NATS', () => {
  const unit = globSync(
    ['{platform,services,tools,bench}/**/*.test.ts', 'test/repo/**/*.test.ts'],
    {
      cwd: root,
      exclude: (path) => path.includes('node_modules') || path.includes('fixtures'),
    },
  ).filter(
    (file) =>
      !needsPostgresOrNats.includes(file) &&
      !drill.includes(file) &&
      file !== 'test/repo/test-projects.test.ts',
  );

  expect(unit.length).toBeGreaterThan(40);
  expect(
    unit.filter((file) => usesPostgresOrNats.test(readFileSync(new URL(file, root), 'utf8'))),
  ).toEqual([]);
});

test('when needsPostgresOrNats is read, then every file it names exists', () => {
  expect(needsPostgresOrNats.filter((file) => !existsSync(new URL(file, root)))).toEqual([]);
});
