import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, test } from 'vitest';
import { createLogger, openFlags, type FlagChange, type FlagsHandle } from '../src/index.js';
import { eventually } from '../src/testing/index.js';

/**
 * Feature flags through OpenFeature and flagd's in-process provider on a flagd definitions file:
 * targeting by customer, region and percentage, safe defaults, and hot reload of the file.
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-flags-'));
const log = createLogger({ service: 'test', level: 'silent' });
const retryIntervalMs = () => 5000;
const handles: FlagsHandle[] = [];
afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
  rmSync(dir, { recursive: true, force: true });
});

function rolloutFlags(percentOn: number, customers: string[] = ['alice', 'bob']) {
  return {
    $schema: 'https://flagd.dev/schema/v0/flags.json',
    flags: {
      'payment-provider-v2': {
        state: 'ENABLED',
        variants: { on: true, off: false },
        defaultVariant: 'off',
        targeting: {
          if: [
            { in: [{ var: 'targetingKey' }, customers] },
            'on',
            {
              fractional: [
                ['on', percentOn],
                ['off', 100 - percentOn],
              ],
            },
          ],
        },
      },
      'order-max-lines': {
        state: 'ENABLED',
        variants: { configured: 0, five: 5 },
        defaultVariant: 'configured',
        targeting: { if: [{ '==': [{ var: 'region' }, 'eu'] }, 'five', null] },
      },
      'retired-flag': {
        state: 'DISABLED',
        variants: { on: true, off: false },
        defaultVariant: 'on',
      },
      greeting: {
        state: 'ENABLED',
        variants: { hello: 'hello', hi: 'hi' },
        defaultVariant: 'hello',
      },
    },
  };
}

/**
 * The file source polls the file's stat; its first stat is taken asynchronously after the provider
 * is ready, so an edit in the very same instant could become its baseline. Operators never edit that
 * fast; tests wait a moment.
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));

let files = 0;
async function flagsFrom(definitions: unknown, region = 'local') {
  const file = join(dir, `flags-${++files}.json`);
  writeFileSync(file, JSON.stringify(definitions, null, 2));
  const flags = await openFlags({ file, context: () => ({ region }), retryIntervalMs, log });
  handles.push(flags);
  return { flags, file };
}

describe('feature flags', () => {
  test('when a customer is listed, then the rollout flag is on for them whatever the percentage', async () => {
    const { flags } = await flagsFrom(rolloutFlags(0));
    expect(await flags.boolean('payment-provider-v2', false, { targetingKey: 'alice' })).toBe(true);
    expect(await flags.boolean('payment-provider-v2', false, { targetingKey: 'carol' })).toBe(
      false,
    );
  });

  test('when the rollout is 0% or 100%, then unlisted customers all get off or all get on', async () => {
    const none = (await flagsFrom(rolloutFlags(0))).flags;
    const all = (await flagsFrom(rolloutFlags(100))).flags;
    for (const customer of ['carol', 'dave', 'erin', 'frank']) {
      expect(await none.boolean('payment-provider-v2', false, { targetingKey: customer })).toBe(
        false,
      );
      expect(await all.boolean('payment-provider-v2', false, { targetingKey: customer })).toBe(
        true,
      );
    }
  });

  test('when the rollout is 30%, then about 30% of customers get it and each customer always gets the same answer', async () => {
    const { flags } = await flagsFrom(rolloutFlags(30, []));
    const customers = Array.from({ length: 1000 }, (_, i) => `customer-${i}`);
    const first = await Promise.all(
      customers.map((c) => flags.boolean('payment-provider-v2', false, { targetingKey: c })),
    );
    const again = await Promise.all(
      customers.map((c) => flags.boolean('payment-provider-v2', false, { targetingKey: c })),
    );
    const share = first.filter(Boolean).length / customers.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
    expect(again).toEqual(first);
  });

  test('when the region attribute matches a rule, then that variant is chosen; otherwise the default variant', async () => {
    const eu = (await flagsFrom(rolloutFlags(0), 'eu')).flags;
    const local = (await flagsFrom(rolloutFlags(0), 'local')).flags;
    expect(await eu.number('order-max-lines', 0, { targetingKey: 'carol' })).toBe(5);
    expect(await local.number('order-max-lines', 0, { targetingKey: 'carol' })).toBe(0);
    // A context attribute given at evaluation wins over the static one.
    expect(await local.number('order-max-lines', 0, { targetingKey: 'carol', region: 'eu' })).toBe(
      5,
    );
  });

  test('when a flag is missing, disabled or of another type, then the safe default is the answer', async () => {
    const { flags } = await flagsFrom(rolloutFlags(100));
    expect(await flags.boolean('no-such-flag', false, { targetingKey: 'alice' })).toBe(false);
    expect(await flags.number('no-such-flag', 42)).toBe(42);
    expect(await flags.boolean('retired-flag', false)).toBe(false);
    expect(await flags.number('greeting', 7)).toBe(7);
    expect(await flags.string('greeting', 'x')).toBe('hello');
  });

  test('when the flags file cannot be read, then every evaluation answers its default and the status says why', async () => {
    const flags = await openFlags({ file: join(dir, 'missing.json'), retryIntervalMs, log });
    handles.push(flags);
    expect(await flags.boolean('payment-provider-v2', true, { targetingKey: 'alice' })).toBe(true);
    expect(flags.status().error).toMatch(/cannot load/);
  });

  test('when the file changes, then evaluations follow without a restart and the change is announced with the new hash', async () => {
    const { flags, file } = await flagsFrom(rolloutFlags(0, []));
    const changes: FlagChange[] = [];
    flags.onChange((change) => changes.push(change));
    expect(await flags.boolean('payment-provider-v2', false, { targetingKey: 'carol' })).toBe(
      false,
    );

    const updated = JSON.stringify(rolloutFlags(0, ['carol']), null, 2);
    await settle();
    writeFileSync(file, updated);

    await eventually(
      async () =>
        expect(await flags.boolean('payment-provider-v2', false, { targetingKey: 'carol' })).toBe(
          true,
        ),
      {
        timeoutMs: 20_000,
      },
    );
    expect(changes).toHaveLength(1);
    expect(changes[0]?.flagsChanged).toContain('payment-provider-v2');
    const sha = createHash('sha256').update(updated).digest('hex').slice(0, 16);
    expect(changes[0]?.hash).toBe(sha);
    expect(flags.status().hash).toBe(sha);
  });

  test('when the new file is invalid, then the previous flags stay in effect and the status reports the failed reload', async () => {
    const { flags, file } = await flagsFrom(rolloutFlags(100, []));
    const hash = flags.status().hash;
    await settle();
    writeFileSync(file, '{ "flags": { "payment-provider-v2": ');
    await eventually(() => expect(flags.status().error).toMatch(/reload/), { timeoutMs: 20_000 });
    expect(await flags.boolean('payment-provider-v2', false, { targetingKey: 'carol' })).toBe(true);
    expect(flags.status().hash).toBe(hash);
  });

  test('when flags are opened and closed again and again, then nothing keeps what a closed handle was given reachable', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const owners: WeakRef<object>[] = [];
    // Stands for a service: reachable from the flags only through what it handed them.
    const openAndClose = async (round: number) => {
      const owner = { retryIntervalMs: 5000 };
      const file = join(dir, `reopened-${round}.json`);
      writeFileSync(file, JSON.stringify(rolloutFlags(0)));
      const flags = await openFlags({ file, log, retryIntervalMs: () => owner.retryIntervalMs });
      flags.onChange(() => undefined);
      owners.push(new WeakRef(owner));
      await flags.close();
    };
    for (let round = 0; round < 5; round++) await openAndClose(round);

    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(owners.filter((owner) => owner.deref() !== undefined)).toHaveLength(0);
  });
});
