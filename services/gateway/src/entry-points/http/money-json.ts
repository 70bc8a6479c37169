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

/** Money in version 2 of the public API: minor units as a decimal string, and the currency. */
export interface MoneyJson {
  amountMinor: string;
  currency: string;
}

export function money(amountMinor: bigint, currency: string): MoneyJson {
  return { amountMinor: amountMinor.toString(), currency };
}

export const currencySchema = {
  type: 'string',
  pattern: '^[A-Z]{3}$',
  description: 'ISO 4217 currency code.',
  examples: ['EUR'],
} as const;

/** The JSON schema of a MoneyJson (version 2). */
export const moneySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['amountMinor', 'currency'],
  properties: {
    amountMinor: {
      type: 'string',
      pattern: '^-?[0-9]{1,19}$',
      description: 'The amount in minor units of the currency (cents of EUR), as a decimal string.',
      examples: ['2599'],
    },
    currency: currencySchema,
  },
} as const;
