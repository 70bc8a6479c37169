import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '@orderly/platform';
import type { RiskFeatures } from '../risk-engine.js';
import { shippedPluginsDir } from '../shipped-plugins.js';

export { shippedPluginsDir };
export const fixturesDir = join(shippedPluginsDir, 'fixtures');
export const shippedRuleSet = join(shippedPluginsDir, 'basic-rules', '1.0.0');

/** The amount that makes every fault fixture misbehave (fixtures/assembly/common.ts). */
export const triggerAmount = 13n;

let orders = 0;
export function someFeatures(overrides: Partial<RiskFeatures> = {}): RiskFeatures {
  orders++;
  return {
    orderId: `order-${orders}-${Math.random().toString(36).slice(2)}`,
    customerId: 'customer-1',
    amountMinor: 2500n,
    currency: 'EUR',
    lines: [{ sku: 'SKU-1', quantity: 1, unitPriceMinor: 2500n }],
    customerOrderCount: 0,
    customerAmountMinor: 0n,
    windowSeconds: 3600,
    accountAgeSeconds: 30 * 86_400,
    previousDeclines: 0,
    ...overrides,
  };
}

/** golden.json for a fixture: one ordinary order, scored `score` with `reasons`. */
export function fixtureGolden(score = 100, reasons: string[] = []): string {
  return JSON.stringify({
    settings: { denyList: [], thresholds: {} },
    cases: [
      {
        name: 'an ordinary order',
        features: {
          orderId: 'golden-1',
          customerId: 'customer-1',
          amountMinor: '2500',
          currency: 'EUR',
          lines: [{ sku: 'SKU-1', quantity: 1, unitPriceMinor: '2500' }],
          customerOrderCount: 0,
          customerAmountMinor: '0',
          windowSeconds: 3600,
          accountAgeSeconds: 2592000,
          previousDeclines: 0,
        },
        expect: { minScore: score, maxScore: score, reasons },
      },
    ],
  });
}

/** A scratch plugin folder that a test fills with versions of `basic-rules`. */
export class PluginFolder {
  readonly dir = mkdtempSync(join(tmpdir(), 'orderly-risk-plugins-'));

  versionDir(version: string): string {
    return join(this.dir, 'basic-rules', version);
  }

  /** A version built from a fixture (or the shipped rule set with `fixture` 'basic-rules'). */
  add(version: string, fixture: string, golden?: string): this {
    const dir = this.versionDir(version);
    mkdirSync(dir, { recursive: true });
    if (fixture === 'basic-rules') {
      copyFileSync(join(shippedRuleSet, 'plugin.wasm'), join(dir, 'plugin.wasm'));
      copyFileSync(join(shippedRuleSet, 'golden.json'), join(dir, 'golden.json'));
    } else {
      copyFileSync(join(fixturesDir, `${fixture}.wasm`), join(dir, 'plugin.wasm'));
      writeFileSync(
        join(dir, 'golden.json'),
        fixture === 'constant' ? fixtureGolden(500, ['FIXTURE']) : fixtureGolden(),
      );
    }
    if (golden !== undefined) writeFileSync(join(dir, 'golden.json'), golden);
    return this;
  }

  write(version: string, file: string, content: Uint8Array | string): this {
    mkdirSync(this.versionDir(version), { recursive: true });
    writeFileSync(join(this.versionDir(version), file), content);
    return this;
  }

  remove(version: string): void {
    rmSync(this.versionDir(version), { recursive: true, force: true });
  }

  cleanUp(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A logger whose JSON lines a test can read. */
export function capturedLog(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const log = createLogger({
    service: 'risk',
    level: 'info',
    destination: { write: (line: string) => void lines.push(line) },
  });
  return {
    log,
    lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
