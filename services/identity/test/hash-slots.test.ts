import { describe, expect, test } from 'vitest';
import { HashSlots } from '../src/entry-points/hash-slots.js';

describe('password hash slots', () => {
  test('when more hashes are asked for than there are slots, then at most that many run at once and all finish', async () => {
    const slots = new HashSlots(2);
    let running = 0;
    let most = 0;
    const work = async (value: number) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 10));
      running--;
      return value;
    };

    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => slots.run(() => work(n))));

    expect(results).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });

  test('when a waiting caller gives up (its deadline passes), then its hash never runs and the others go on', async () => {
    const slots = new HashSlots(1);
    let release: () => void = () => undefined;
    const first = slots.run(() => new Promise<void>((resolve) => (release = resolve)));
    const controller = new AbortController();
    let ranAbandoned = false;
    const abandoned = slots.run(() => {
      ranAbandoned = true;
      return Promise.resolve();
    }, controller.signal);
    const next = slots.run(() => Promise.resolve('next'));
    await new Promise((resolve) => setImmediate(resolve));

    controller.abort(new Error('deadline exceeded'));
    release();

    await expect(abandoned).rejects.toThrow('deadline exceeded');
    await first;
    expect(await next).toBe('next');
    expect(ranAbandoned).toBe(false);
  });
});
