import { fileURLToPath } from 'node:url';
import { serviceNames, type ServiceName } from '@orderly/system';

/** The services that ship as bundles, binaries and images: the system's, in its start order. */
export const shippedServices = serviceNames;
export type ShippedService = ServiceName;
/** Services with their own database (and so an outbox and inbox on the bus). */
export { servicesWithDatabase, type ServiceWithDatabase } from '@orderly/system';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/**
 * Build output (gitignored): dist/bundles/<svc>.cjs, dist/bin/<svc>, dist/build-info.json.
 * ORDERLY_DIST_DIR moves it: the bench builds into its own work folder, so a build running at the
 * same time (the deploy tests' binaries) is never mixed with its bundles.
 */
export const distDir = process.env.ORDERLY_DIST_DIR ?? `${repoRoot}dist`;
