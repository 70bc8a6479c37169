import type { Flags } from '@orderly/platform';
import { validationFailed } from '../http/http-errors.js';

/**
 * `order-max-lines` (number flag): a tighter limit on lines per order for the customers it targets
 * (targeting key = customer id). It can only lower `services.gateway.maxLinesPerOrder`; 0, a missing
 * flag or a failed evaluation leave the configured limit.
 */
export const orderMaxLinesFlag = 'order-max-lines';

export async function assertWithinLineLimit(
  flags: Flags | undefined,
  customerId: string,
  lineCount: number,
): Promise<void> {
  if (!flags) return;
  const limit = await flags.number(orderMaxLinesFlag, 0, { targetingKey: customerId });
  if (limit > 0 && lineCount > limit) {
    throw validationFailed(`an order may have at most ${Math.floor(limit)} lines`);
  }
}
