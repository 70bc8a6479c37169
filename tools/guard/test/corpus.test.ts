import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ruleIds } from '../src/finding.ts';
import { checkFixture, guardRoot } from './guard-runner.ts';

interface Truth {
  rule: string;
  file: string;
  line: number;
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

const corpusRoot = join(guardRoot, 'fixtures', 'corpus');
const planted = JSON.parse(readFileSync(join(corpusRoot, 'planted-truth.json'), 'utf8')) as {
  fixtures: Record<string, Truth[]>;
};
const realRepos = readdirSync(corpusRoot, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** The lowest figures accepted; raise them when the rules get better. */
const baseline = JSON.parse(readFileSync(join(corpusRoot, 'baseline.json'), 'utf8')) as Record<
  string,
  { precision: number; recall: number }
>;

function score(root: string, truth: Truth[], rules: readonly string[], into: Map<string, Counts>) {
  const key = (item: Truth) => `${item.rule} ${item.file}:${item.line}`;
  const actual = new Set(
    checkFixture(root)
      .findings.filter((finding) => rules.includes(finding.rule))
      .map(key),
  );
  const expected = new Set(truth.map(key));
  for (const rule of rules) {
    const counts = into.get(rule) ?? { tp: 0, fp: 0, fn: 0 };
    for (const item of actual) {
      if (!item.startsWith(`${rule} `)) continue;
      if (expected.has(item)) counts.tp++;
      else counts.fp++;
    }
    for (const item of expected) if (item.startsWith(`${rule} `) && !actual.has(item)) counts.fn++;
    into.set(rule, counts);
  }
}

function measure() {
  const plantedCounts = new Map<string, Counts>();
  for (const [fixture, truth] of Object.entries(planted.fixtures)) {
    score(join(guardRoot, 'fixtures', fixture), truth, ruleIds, plantedCounts);
  }
  const realCounts = new Map<string, Counts>();
  for (const repo of realRepos) {
    const file = JSON.parse(readFileSync(join(corpusRoot, repo, 'truth.json'), 'utf8')) as {
      rules: string[];
      truth: Truth[];
    };
    score(join(corpusRoot, repo), file.truth, file.rules, realCounts);
  }
  return { plantedCounts, realCounts };
}

const percent = (part: number, whole: number) =>
  whole === 0 ? undefined : Math.round((100 * part) / whole);
const show = (value: number | undefined) => (value === undefined ? '—' : `${value} %`);

function table(plantedCounts: Map<string, Counts>, realCounts: Map<string, Counts>): string {
  const rows = ruleIds.map((rule) => {
    const p = plantedCounts.get(rule) ?? { tp: 0, fp: 0, fn: 0 };
    const r = realCounts.get(rule);
    const real = r
      ? `${r.tp}/${r.fp}/${r.fn} | ${show(percent(r.tp, r.tp + r.fp))} | ${show(percent(r.tp, r.tp + r.fn))}`
      : 'not measured | | ';
    return `| \`${rule}\` | ${p.tp}/${p.fp}/${p.fn} | ${show(percent(p.tp, p.tp + p.fp))} | ${show(percent(p.tp, p.tp + p.fn))} | ${real} |`;
  });
  return [
    '| rule | planted TP/FP/FN | precision | recall | real repositories TP/FP/FN | precision | recall |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

describe('precision and recall on the corpus', { timeout: 120_000 }, () => {
  const { plantedCounts, realCounts } = measure();
  // GUARD_PRINT_TABLE=1 prints the table to paste into the README.
  if (process.env.GUARD_PRINT_TABLE) process.stdout.write(`${table(plantedCounts, realCounts)}\n`);

  test('when the corpus is checked, then no rule falls below its recorded precision or recall', () => {
    const drops: string[] = [];
    for (const rule of ruleIds) {
      const counts = [plantedCounts.get(rule), realCounts.get(rule)].filter(
        (item): item is Counts => item !== undefined,
      );
      const tp = counts.reduce((sum, item) => sum + item.tp, 0);
      const fp = counts.reduce((sum, item) => sum + item.fp, 0);
      const fn = counts.reduce((sum, item) => sum + item.fn, 0);
      const precision = percent(tp, tp + fp) ?? 100;
      const recall = percent(tp, tp + fn) ?? 100;
      const floor = baseline[rule] ?? { precision: 100, recall: 100 };
      if (precision < floor.precision)
        drops.push(`${rule} precision ${precision} < ${floor.precision}`);
      if (recall < floor.recall) drops.push(`${rule} recall ${recall} < ${floor.recall}`);
    }
    expect(drops).toEqual([]);
  });

  test('when the figures change, then the README table shows them', () => {
    const readme = readFileSync(join(guardRoot, 'README.md'), 'utf8');
    const start = readme.indexOf('<!-- precision-recall:start -->');
    const end = readme.indexOf('<!-- precision-recall:end -->');
    expect(start).toBeGreaterThan(0);
    const shown = readme.slice(start, end).split('\n').slice(1).join('\n').trim();
    const normalise = (text: string) => text.replace(/ *\| */g, '|').replace(/-+/g, '-');
    expect(normalise(shown)).toBe(normalise(table(plantedCounts, realCounts)));
  });
});
