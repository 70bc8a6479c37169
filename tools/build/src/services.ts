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
/** Build output (gitignored): dist/bundles/<svc>.cjs, dist/bin/<svc>, dist/build-info.json. */
export const distDir = `${repoRoot}dist`;
