import { upstreamInvalidResponse } from './http-errors.js';

/**
 * Money is an int64 in the contracts and a JSON number (cents) here; an amount a JSON number cannot
 * hold exactly is an answer the gateway cannot represent, never a rounded price.
 */
export function cents(value: bigint): number {
  const asNumber = Number(value);
  if (!Number.isSafeInteger(asNumber)) throw upstreamInvalidResponse('an amount');
  return asNumber;
}
