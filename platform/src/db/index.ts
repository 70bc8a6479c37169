export * from './database.js';
import { fileURLToPath } from 'node:url';
/** The platform's own migrations (outbox, inbox), applied before a service's. */
export const platformMigrations = {
  scope: 'platform',
  path: fileURLToPath(new URL('./migrations', import.meta.url)),
};
export * from './group-commit.js';
export * from './postgres-user-access.js';
