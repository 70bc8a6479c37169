import { createHash } from 'node:crypto';

// UUID namespace of Orderly customer notifications (random, fixed forever).
const namespace = Buffer.from('6f1d2c3a9b8e4f70a1c2d3e4f5a6b7c8', 'hex');

/**
 * The id of an order's notification: a name-based UUID (version 5) of the order id, so every
 * attempt to notify the same order carries the same id and sinks can recognise a repeat.
 */
export function notificationIdFor(orderId: string): string {
  const hash = createHash('sha1').update(namespace).update(orderId, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
