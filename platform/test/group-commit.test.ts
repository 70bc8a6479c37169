import { describe, expect, test } from 'vitest';
import { GroupCommit } from '../src/db/group-commit.js';

describe('group commit', () => {
  test('when many units arrive together, then they share batches no larger than maxBatch', async () => {
    const batches: number[][] = [];
    const group = new GroupCommit<number, number>(
      () => ({ maxBatch: 4, maxInFlight: 1 }),
      async (units) => {
        batches.push([...units]);
        await new Promise((r) => setTimeout(r, 5));
        return units.map((u) => u * 10);
      },
    );
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => group.submit(i)));
    expect(results).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(batches.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batches.every((b) => b.length <= 4)).toBe(true);
    expect(batches.length).toBeLessThan(10);
  });

  test('when one unit fails, then only that caller sees the error', async () => {
    const group = new GroupCommit<number, string>(
      () => ({ maxBatch: 10, maxInFlight: 1 }),
      (units) => Promise.resolve(units.map((u) => (u === 2 ? new Error('bad unit') : `ok ${u}`))),
    );
    const outcomes = await Promise.allSettled([1, 2, 3].map((u) => group.submit(u)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  test('when the whole batch fails, then every caller of that batch sees the error', async () => {
    const group = new GroupCommit<number, number>(
      () => ({ maxBatch: 10, maxInFlight: 2 }),
      () => Promise.reject(new Error('transaction aborted')),
    );
    const outcomes = await Promise.allSettled([1, 2].map((u) => group.submit(u)));
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
  });

  test('when nothing else is running, then a lone unit is not kept waiting for company', async () => {
    let calls = 0;
    const group = new GroupCommit<number, number>(
      () => ({ maxBatch: 100, maxInFlight: 1 }),
      (units) => {
        calls++;
        return Promise.resolve(units);
      },
    );
    expect(await group.submit(7)).toBe(7);
    expect(calls).toBe(1);
  });
});
