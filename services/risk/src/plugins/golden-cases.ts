import { z } from 'zod';
import type { PluginSettings, RiskFeatures } from './risk-engine.js';

const minor = z.union([z.string().regex(/^-?\d+$/), z.number().int()]).transform((v) => BigInt(v));

const featuresSchema = z.strictObject({
  orderId: z.string().min(1),
  customerId: z.string().min(1),
  amountMinor: minor,
  currency: z.string().length(3),
  lines: z.array(
    z.strictObject({
      sku: z.string().min(1),
      quantity: z.number().int(),
      unitPriceMinor: minor,
    }),
  ),
  customerOrderCount: z.number().int().min(0),
  customerAmountMinor: minor,
  windowSeconds: z.number().int().min(0),
  accountAgeSeconds: z.number().int().min(-1),
  previousDeclines: z.number().int().min(0),
});

const goldenFileSchema = z.strictObject({
  /** The settings the cases are scored with, whatever the deployment configures. */
  settings: z.strictObject({
    denyList: z.array(z.string().min(1)),
    thresholds: z.record(z.string().min(1), z.number().int()),
  }),
  cases: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        features: featuresSchema,
        expect: z.strictObject({
          minScore: z.number().int().min(0).max(1000),
          maxScore: z.number().int().min(0).max(1000),
          /** Exactly these reason codes, in any order. */
          reasons: z.array(z.string()),
        }),
      }),
    )
    .min(1, 'a plugin version ships at least one golden case'),
});

export interface GoldenCase {
  readonly name: string;
  readonly features: RiskFeatures;
  readonly expect: { minScore: number; maxScore: number; reasons: readonly string[] };
}

export interface GoldenCases {
  readonly settings: PluginSettings;
  readonly cases: readonly GoldenCase[];
}

/** Reads a version's golden.json; returns why it cannot be used. */
export function parseGoldenCases(text: string): GoldenCases | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `golden.json is not JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  const parsed = goldenFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `golden.json is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`;
  }
  return parsed.data;
}

export type ScoredOrFailed =
  | { readonly kind: 'scored'; readonly score: number; readonly reasons: readonly string[] }
  | { readonly kind: 'failed'; readonly failure: string; readonly detail: string };

/** The first case the plugin gets wrong, described; undefined when all pass. */
export function firstGoldenMismatch(
  cases: readonly GoldenCase[],
  outcomes: readonly ScoredOrFailed[],
): string | undefined {
  for (const [index, golden] of cases.entries()) {
    const outcome = outcomes[index];
    if (!outcome) return `golden case "${golden.name}" got no outcome`;
    if (outcome.kind === 'failed') {
      return `golden case "${golden.name}" failed (${outcome.failure}: ${outcome.detail})`;
    }
    const { minScore, maxScore, reasons } = golden.expect;
    const got = [...outcome.reasons].sort();
    const want = [...reasons].sort();
    if (outcome.score < minScore || outcome.score > maxScore || got.join() !== want.join()) {
      return (
        `golden case "${golden.name}" expected score ${minScore}..${maxScore} with ` +
        `[${want.join(', ')}], got ${outcome.score} with [${got.join(', ')}]`
      );
    }
  }
  return undefined;
}
