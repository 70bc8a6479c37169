import type { AnyServiceDefinition } from '@orderly/platform';
import { gatewayService } from '@orderly/gateway';
import { identityService } from '@orderly/identity';
import { inventoryService } from '@orderly/inventory';
import { notificationService } from '@orderly/notification';
import { orderService } from '@orderly/order';
import { paymentService } from '@orderly/payment';
import { riskService } from '@orderly/risk';

/**
 * Every service of the system, in the order they start: the gateway last, so it only accepts work
 * once the rest runs. The launcher, the build, the chaos drills, the CLI, the end-to-end tests and
 * the bench read this list; a new service is its folder and one line here.
 */
export const services = [
  orderService,
  inventoryService,
  paymentService,
  notificationService,
  identityService,
  riskService,
  gatewayService,
] as const;

type Listed = (typeof services)[number];
export type ServiceName = Listed['name'];
/** The services with their own database (and so an outbox and an inbox). */
export type ServiceWithDatabase = Extract<Listed, { database: object }>['name'];

const definitions: readonly AnyServiceDefinition[] = services;

export const serviceNames: readonly ServiceName[] = services.map((s) => s.name);

export function hasDatabase(service: string): service is ServiceWithDatabase {
  return definitions.some((s) => s.name === service && s.database !== undefined);
}

export const servicesWithDatabase: readonly ServiceWithDatabase[] =
  serviceNames.filter(hasDatabase);

export function isServiceName(name: string): name is ServiceName {
  return (serviceNames as readonly string[]).includes(name);
}
