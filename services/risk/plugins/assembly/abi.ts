// The host side of the Orderly rule-plugin ABI v1 for AssemblyScript plugins (docs/risk.md,
// "Plugin ABI"). A plugin imports what it needs from here and re-exports the five ABI functions.

/** The ABI version the host checks at load. */
export const ABI_VERSION: i32 = 1;

let buffer: usize = 0;
let bufferSize: i32 = 0;

/**
 * The host writes a request (configuration or features) here and then calls into the plugin. The
 * buffer is reused: it is valid until the next call, so no allocation happens per assessment.
 */
export function alloc(size: i32): usize {
  if (size > bufferSize) {
    buffer = heap.alloc(<usize>size);
    bufferSize = size;
  }
  return buffer;
}

/** A length-prefixed (u32 LE) list of comma-separated reason codes, made once. */
export function lengthPrefixed(text: string): usize {
  const encoded = String.UTF8.encode(text);
  const length = encoded.byteLength;
  const ptr = heap.alloc(<usize>(length + 4));
  store<u32>(ptr, <u32>length);
  memory.copy(ptr + 4, changetype<usize>(encoded), <usize>length);
  return ptr;
}

/** assess's result: score in the low 32 bits, the reason bit mask in the high 32. */
export function result(score: i32, reasons: u32): i64 {
  return ((<i64>reasons) << 32) | (<i64>(<u32>score));
}

/** Offsets of the feature record's fixed part. */
export const AMOUNT: usize = 0;
export const CUSTOMER_AMOUNT: usize = 8;
export const CUSTOMER_ORDER_COUNT: usize = 16;
export const WINDOW_LENGTH: usize = 20;
export const ACCOUNT_AGE: usize = 24;
export const PREVIOUS_DECLINES: usize = 28;
export const LINE_COUNT: usize = 36;
export const CUSTOMER_ID_LENGTH: usize = 40;
export const ORDER_ID_LENGTH: usize = 42;
export const CUSTOMER_ID: usize = 44;
/** Each line: i64 unit price, i32 quantity, u16 SKU length, SKU bytes. */
export const LINE_FIXED_SIZE: usize = 14;
