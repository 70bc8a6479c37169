// basic-rules: the rule set Orderly ships (AssemblyScript, compiled by `npm run generate`).
// Velocity per customer, amount thresholds, quantity anomalies, previous declines, new accounts and
// a deny list, each adding to a score from 0 to 1000 with a reason code.
import {
  ABI_VERSION,
  ACCOUNT_AGE,
  AMOUNT,
  CUSTOMER_AMOUNT,
  CUSTOMER_ID,
  CUSTOMER_ID_LENGTH,
  CUSTOMER_ORDER_COUNT,
  LINE_COUNT,
  LINE_FIXED_SIZE,
  ORDER_ID_LENGTH,
  PREVIOUS_DECLINES,
  alloc,
  lengthPrefixed,
  result,
} from '../abi';

const VELOCITY_HIGH: u32 = 1 << 0;
const AMOUNT_HIGH: u32 = 1 << 1;
const QUANTITY_ANOMALY: u32 = 1 << 2;
const CUSTOMER_DENIED: u32 = 1 << 3;
const PREVIOUS_DECLINES_HIGH: u32 = 1 << 4;
const NEW_ACCOUNT: u32 = 1 << 5;
const REASON_NAMES =
  'VELOCITY_HIGH,AMOUNT_HIGH,QUANTITY_ANOMALY,CUSTOMER_DENIED,PREVIOUS_DECLINES,NEW_ACCOUNT';

// Settings (configure overrides them by name; amounts in minor units).
let amountReviewMinor: i64 = 200_000;
let amountRejectMinor: i64 = 1_000_000;
let velocityMaxOrders: i64 = 5;
let velocityMaxAmountMinor: i64 = 2_000_000;
let quantityMaxPerLine: i64 = 50;
let maxPreviousDeclines: i64 = 3;
let newAccountSeconds: i64 = 86_400;

// The deny list: customer ids as UTF-8 bytes, copied out of the request buffer at configure.
const denied = new Array<usize>();
const deniedLengths = new Array<i32>();
let reasonList: usize = 0;

export function orderly_abi_version(): i32 {
  return ABI_VERSION;
}

export function orderly_alloc(size: i32): usize {
  return alloc(size);
}

export function orderly_reasons(): usize {
  if (reasonList == 0) reasonList = lengthPrefixed(REASON_NAMES);
  return reasonList;
}

function setting(name: string, value: i64): void {
  if (name == 'amountReviewMinor') amountReviewMinor = value;
  else if (name == 'amountRejectMinor') amountRejectMinor = value;
  else if (name == 'velocityMaxOrders') velocityMaxOrders = value;
  else if (name == 'velocityMaxAmountMinor') velocityMaxAmountMinor = value;
  else if (name == 'quantityMaxPerLine') quantityMaxPerLine = value;
  else if (name == 'maxPreviousDeclines') maxPreviousDeclines = value;
  else if (name == 'newAccountSeconds') newAccountSeconds = value;
}

/** Reads the configuration record; 0 when it was read to its end. */
export function orderly_configure(ptr: usize, length: i32): i32 {
  const end = ptr + <usize>length;
  let at = ptr;
  const settings = load<u32>(at);
  at += 4;
  for (let i: u32 = 0; i < settings; i++) {
    const nameLength = <usize>load<u8>(at);
    const name = String.UTF8.decodeUnsafe(at + 1, nameLength);
    setting(name, load<i64>(at + 1 + nameLength));
    at += 1 + nameLength + 8;
  }
  const entries = load<u32>(at);
  at += 4;
  denied.length = 0;
  deniedLengths.length = 0;
  for (let i: u32 = 0; i < entries; i++) {
    const entryLength = <i32>load<u16>(at);
    const copy = heap.alloc(<usize>entryLength);
    memory.copy(copy, at + 2, <usize>entryLength);
    denied.push(copy);
    deniedLengths.push(entryLength);
    at += 2 + <usize>entryLength;
  }
  return at == end ? 0 : 1;
}

function isDenied(customerId: usize, length: i32): bool {
  for (let i = 0; i < denied.length; i++) {
    if (
      unchecked(deniedLengths[i]) == length &&
      memory.compare(unchecked(denied[i]), customerId, <usize>length) == 0
    )
      return true;
  }
  return false;
}

export function orderly_assess(ptr: usize, length: i32): i64 {
  const amount = load<i64>(ptr + AMOUNT);
  const customerIdLength = <i32>load<u16>(ptr + CUSTOMER_ID_LENGTH);
  if (isDenied(ptr + CUSTOMER_ID, customerIdLength)) return result(1000, CUSTOMER_DENIED);

  let score: i32 = 0;
  let reasons: u32 = 0;
  if (amount >= amountRejectMinor) {
    score += 800;
    reasons |= AMOUNT_HIGH;
  } else if (amount >= amountReviewMinor) {
    score += 450;
    reasons |= AMOUNT_HIGH;
  }
  const orderCount = <i64>load<i32>(ptr + CUSTOMER_ORDER_COUNT);
  const windowAmount = load<i64>(ptr + CUSTOMER_AMOUNT) + amount;
  if (orderCount >= velocityMaxOrders || windowAmount >= velocityMaxAmountMinor) {
    score += 450;
    reasons |= VELOCITY_HIGH;
  }
  if (<i64>load<i32>(ptr + PREVIOUS_DECLINES) >= maxPreviousDeclines) {
    score += 300;
    reasons |= PREVIOUS_DECLINES_HIGH;
  }
  const accountAge = <i64>load<i32>(ptr + ACCOUNT_AGE);
  if (accountAge >= 0 && accountAge < newAccountSeconds && amount * 2 >= amountReviewMinor) {
    score += 200;
    reasons |= NEW_ACCOUNT;
  }

  const lineCount = load<u32>(ptr + LINE_COUNT);
  let line = ptr + CUSTOMER_ID + <usize>customerIdLength + <usize>load<u16>(ptr + ORDER_ID_LENGTH);
  const end = ptr + <usize>length;
  for (let i: u32 = 0; i < lineCount && line + LINE_FIXED_SIZE <= end; i++) {
    const quantity = <i64>load<i32>(line + 8);
    if (quantity <= 0 || quantity > quantityMaxPerLine) {
      score += 400;
      reasons |= QUANTITY_ANOMALY;
      break;
    }
    line += LINE_FIXED_SIZE + <usize>load<u16>(line + 12);
  }
  return result(score > 1000 ? 1000 : score, reasons);
}
