import { fileURLToPath } from 'node:url';

/** The services that ship as bundles, binaries and images, in start order of the architecture. */
export const shippedServices = [
  'order',
  'inventory',
  'payment',
  'notification',
  'identity',
  'gateway',
] as const;
export type ShippedService = (typeof shippedServices)[number];

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/**
 * Build output (gitignored): dist/bundles/<svc>.cjs, dist/bin/<svc>, dist/build-info.json.
 * ORDERLY_DIST_DIR moves it: the bench builds into its own work folder, so a build running at the
 * same time (the deploy tests' binaries) is never mixed with its bundles.
 */
export const distDir = process.env.ORDERLY_DIST_DIR ?? `${repoRoot}dist`;
