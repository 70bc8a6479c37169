import type { PluginSettings, RiskFeatures } from './risk-engine.js';

/**
 * The host side of the rule-plugin ABI, version 1 (docs/risk.md, "Plugin ABI"). Everything crosses
 * the boundary as little-endian bytes in the plugin's own memory, so any language that compiles to
 * WebAssembly can implement it; results come back as one i64.
 */
export const abiVersion = 1;

/** What a module must export, by kind. */
export const requiredExports = {
  memory: 'memory',
  orderly_abi_version: 'function',
  orderly_alloc: 'function',
  orderly_reasons: 'function',
  orderly_configure: 'function',
  orderly_assess: 'function',
} as const;

/** The only imports the host gives; any other import refuses the module. */
export const allowedImports: ReadonlySet<string> = new Set(['env.abort']);

export const maxReasons = 32;
export const reasonCodePattern = /^[A-Z][A-Z0-9_]{0,63}$/;

const featureHeaderSize = 44;
const lineFixedSize = 14;
const encoder = new TextEncoder();
const int32Min = -(2 ** 31);
const int32Max = 2 ** 31 - 1;

function clampInt32(value: number): number {
  return Math.min(int32Max, Math.max(int32Min, Math.trunc(value)));
}

function shortUtf8(text: string, limit: number): Uint8Array {
  const bytes = encoder.encode(text);
  return bytes.length > limit ? bytes.subarray(0, limit) : bytes;
}

/** One order's feature record (docs/risk.md, "Feature record"). */
export function encodeFeatures(features: RiskFeatures): Uint8Array {
  const customerId = shortUtf8(features.customerId, 0xffff);
  const orderId = shortUtf8(features.orderId, 0xffff);
  const skus = features.lines.map((line) => shortUtf8(line.sku, 0xffff));
  const size =
    featureHeaderSize +
    customerId.length +
    orderId.length +
    skus.reduce((sum, sku) => sum + lineFixedSize + sku.length, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, features.amountMinor, true);
  view.setBigInt64(8, features.customerAmountMinor, true);
  view.setInt32(16, clampInt32(features.customerOrderCount), true);
  view.setInt32(20, clampInt32(features.windowSeconds), true);
  view.setInt32(24, clampInt32(features.accountAgeSeconds), true);
  view.setInt32(28, clampInt32(features.previousDeclines), true);
  bytes.set(shortUtf8(features.currency, 3), 32);
  view.setUint32(36, features.lines.length, true);
  view.setUint16(40, customerId.length, true);
  view.setUint16(42, orderId.length, true);
  bytes.set(customerId, featureHeaderSize);
  bytes.set(orderId, featureHeaderSize + customerId.length);
  let at = featureHeaderSize + customerId.length + orderId.length;
  features.lines.forEach((line, index) => {
    const sku = skus[index] ?? new Uint8Array();
    view.setBigInt64(at, line.unitPriceMinor, true);
    view.setInt32(at + 8, clampInt32(line.quantity), true);
    view.setUint16(at + 12, sku.length, true);
    bytes.set(sku, at + lineFixedSize);
    at += lineFixedSize + sku.length;
  });
  return bytes;
}

/** The configuration record `orderly_configure` reads: named i64 settings, then the deny list. */
export function encodeSettings(settings: PluginSettings): Uint8Array {
  const named = Object.entries(settings.thresholds).map(
    ([name, value]) => [shortUtf8(name, 0xff), BigInt(value)] as const,
  );
  const denied = settings.denyList.map((id) => shortUtf8(id, 0xffff));
  const size =
    4 +
    named.reduce((sum, [name]) => sum + 1 + name.length + 8, 0) +
    4 +
    denied.reduce((sum, id) => sum + 2 + id.length, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, named.length, true);
  let at = 4;
  for (const [name, value] of named) {
    view.setUint8(at, name.length);
    bytes.set(name, at + 1);
    view.setBigInt64(at + 1 + name.length, value, true);
    at += 1 + name.length + 8;
  }
  view.setUint32(at, denied.length, true);
  at += 4;
  for (const id of denied) {
    view.setUint16(at, id.length, true);
    bytes.set(id, at + 2);
    at += 2 + id.length;
  }
  return bytes;
}

export type DecodedResult =
  | { readonly ok: true; readonly score: number; readonly reasons: readonly string[] }
  | { readonly ok: false; readonly detail: string };

/** `orderly_assess`'s i64: score in bits 0..31 (0..1000), reason bits (into the plugin's list) above. */
export function decodeResult(raw: bigint, reasonNames: readonly string[]): DecodedResult {
  const score = Number(BigInt.asUintN(32, raw));
  const mask = Number(BigInt.asUintN(32, raw >> 32n));
  if (score > 1000) return { ok: false, detail: `score ${score} is outside 0..1000` };
  if (reasonNames.length < 32 && mask >>> reasonNames.length !== 0) {
    return {
      ok: false,
      detail: `reason bits 0x${mask.toString(16)} name codes beyond the plugin's ${reasonNames.length}`,
    };
  }
  const reasons = reasonNames.filter((_, bit) => (mask & (1 << bit)) !== 0);
  return { ok: true, score, reasons };
}

/** The reason list a plugin declares (`orderly_reasons`): comma-separated codes, or why not. */
export function parseReasonList(text: string): readonly string[] | string {
  const names = text === '' ? [] : text.split(',');
  if (names.length > maxReasons)
    return `declares ${names.length} reason codes (at most ${maxReasons})`;
  const bad = names.find((name) => !reasonCodePattern.test(name));
  if (bad !== undefined) return `reason code ${JSON.stringify(bad)} is not UPPER_SNAKE_CASE`;
  if (new Set(names).size !== names.length) return 'declares a reason code twice';
  return names;
}
