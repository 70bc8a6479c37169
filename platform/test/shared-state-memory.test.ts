import { describe, expect, test } from 'vitest';
import { memorySharedState } from '../src/shared-state/index.js';
import { decodePageCursor, encodePageCursor } from '../src/paging/index.js';

const increment = (current: string | undefined) => {
  const value = String(Number(current ?? '0') + 1);
  return { value, result: Number(value) };
};

describe('memorySharedState', () => {
  test('when a key is updated, then each change sees the previous one and answers its result', async () => {
    const state = memorySharedState({ maxEntries: 10, entryTtlMs: 1000 });
    const results = await Promise.all([1, 2, 3].map(() => state.update('k', increment)));
    expect(results).toEqual([1, 2, 3]);
    expect(await state.update('other', increment)).toBe(1);
  });

  test('when more keys than maxEntries are updated, then the least recently updated are forgotten and memory stays bounded', async () => {
    const state = memorySharedState({ maxEntries: 3, entryTtlMs: 1000, now: () => 0 });
    for (const key of ['a', 'b', 'c', 'a', 'd']) await state.update(key, increment);
    // 'b' was the least recently updated: it starts again; 'a' was kept.
    expect(await state.update('b', increment)).toBe(1);
    expect(await state.update('a', increment)).toBe(3);
  });

  test('when a record was not updated for its TTL, then it is forgotten', async () => {
    let now = 0;
    const state = memorySharedState({ maxEntries: 3, entryTtlMs: 1000, now: () => now });
    await state.update('k', increment);
    now = 1000;
    expect(await state.update('k', increment)).toBe(2);
    now = 2001;
    expect(await state.update('k', increment)).toBe(1);
  });
});

describe('page cursors', () => {
  test('when a cursor is read back by its list, then it holds the position; another list, another shape or garbage is refused', () => {
    const cursor = encodePageCursor('orders', ['2026-01-01T00:00:00.000001Z', 'id-1']);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageCursor('orders', cursor, 2)).toEqual(['2026-01-01T00:00:00.000001Z', 'id-1']);
    expect(decodePageCursor('products', cursor, 2)).toBeUndefined();
    expect(decodePageCursor('orders', cursor, 1)).toBeUndefined();
    for (const garbage of ['', '!!', 'e30', Buffer.from('[1,"orders",2,3]').toString('base64url')])
      expect(decodePageCursor('orders', garbage, 2), garbage).toBeUndefined();
  });
});
