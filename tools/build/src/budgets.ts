import { readFileSync } from 'node:fs';
import { repoRoot } from './services.js';

/**
 * deploy/budgets.json: how big each service bundle may be and how slow each binary may start.
 * Budgets are raised deliberately: every entry carries the note that justified its value.
 */
export interface Budgets {
  readonly bundleBytes: {
    /** Allowed growth over a budget as a fraction (0.02 = 2 %), so small changes do not fail CI. */
    readonly tolerance: number;
    readonly services: Record<string, { readonly bytes: number; readonly note: string }>;
  };
  readonly coldStart: {
    /** What the ratio compares: the binary's start to /readyz over a `node -e` HTTP server's start to its first answer. */
    readonly baseline: string;
    readonly services: Record<string, { readonly maxRatio: number; readonly note: string }>;
  };
}

export const budgetsFile = `${repoRoot}deploy/budgets.json`;

export function readBudgets(file = budgetsFile): Budgets {
  return JSON.parse(readFileSync(file, 'utf8')) as Budgets;
}

/** One line per service over its bundle budget (or without one); empty when all fit. */
export function bundleBudgetProblems(
  budgets: Budgets,
  sizes: Readonly<Record<string, number>>,
): string[] {
  const problems: string[] = [];
  for (const [service, bytes] of Object.entries(sizes)) {
    const budget = budgets.bundleBytes.services[service];
    if (!budget) {
      problems.push(`${service}: no bundle budget in deploy/budgets.json`);
      continue;
    }
    const allowed = Math.floor(budget.bytes * (1 + budgets.bundleBytes.tolerance));
    if (bytes > allowed) {
      problems.push(
        `${service}: bundle is ${bytes} bytes, over its budget of ${budget.bytes} (+${budgets.bundleBytes.tolerance * 100} % = ${allowed}); ` +
          'shrink it, or raise the budget in deploy/budgets.json with a note saying why',
      );
    }
  }
  return problems;
}

/** One line per service whose start-to-ready over the baseline exceeds its budget; empty when all fit. */
export function coldStartProblems(
  budgets: Budgets,
  ratios: Readonly<Record<string, number>>,
): string[] {
  const problems: string[] = [];
  for (const [service, ratio] of Object.entries(ratios)) {
    const budget = budgets.coldStart.services[service];
    if (!budget) problems.push(`${service}: no cold-start budget in deploy/budgets.json`);
    else if (!(ratio <= budget.maxRatio)) {
      problems.push(
        `${service}: cold start to ready is ${ratio.toFixed(1)}× the node -e baseline, over its budget of ${budget.maxRatio}×; ` +
          'find what slowed the start, or raise the budget in deploy/budgets.json with a note saying why',
      );
    }
  }
  return problems;
}
