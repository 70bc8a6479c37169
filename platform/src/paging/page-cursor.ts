/**
 * Opaque page cursors for keyset paging: a list names the position its page ended at (e.g. the
 * last row's sort key and id) and hands it out as one URL-safe token; the next request gives it
 * back. The token says which list it belongs to and is checked when it is read, so a cursor of
 * another list, an altered one or plain garbage is refused instead of paging from a wrong place.
 * It is not signed: a position only says where to continue, never what the caller may see (each
 * list applies its own filters, such as the customer, whatever the cursor says).
 */

const version = 1;

/** `position` of `list` as a cursor (base64url of a small JSON array). */
export function encodePageCursor(list: string, position: readonly string[]): string {
  return Buffer.from(JSON.stringify([version, list, ...position]), 'utf8').toString('base64url');
}

/**
 * The position a cursor of `list` holds, with exactly `fields` strings, or undefined when the
 * cursor is not one `list` gave out (the caller answers its stable invalid-cursor error).
 */
export function decodePageCursor(
  list: string,
  cursor: string,
  fields: number,
): readonly string[] | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== fields + 2) return undefined;
  const [cursorVersion, cursorList, ...position] = parsed as unknown[];
  if (cursorVersion !== version || cursorList !== list) return undefined;
  if (!position.every((value): value is string => typeof value === 'string')) return undefined;
  return position;
}
