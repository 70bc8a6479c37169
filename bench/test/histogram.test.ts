import { describe, expect, test } from 'vitest';
import { Histogram } from '../src/histogram.js';

describe('Histogram', () => {
  test('when values are recorded, then quantiles are within 1 % of the exact ones', () => {
    const h = new Histogram();
    const values = Array.from({ length: 10_000 }, (_, i) => (i + 1) * 37);
    for (const v of values) h.record(v);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = values[Math.ceil(q * values.length) - 1] ?? 0;
      expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThan(0.01);
    }
    expect(h.max).toBe(370_000);
  });

  test('when a histogram is serialised and read back, then it answers the same quantiles', () => {
    const h = new Histogram();
    for (let i = 0; i < 1000; i++) h.record(i * i);
    const copy = Histogram.from(
      JSON.parse(JSON.stringify(h.serialize())) as ReturnType<Histogram['serialize']>,
    );
    expect(copy.quantile(0.99)).toBe(h.quantile(0.99));
    expect(copy.total).toBe(1000);
  });

  test('when an earlier snapshot is subtracted, then only the later values remain', () => {
    const h = new Histogram();
    for (let i = 0; i < 100; i++) h.record(10);
    const earlier = Histogram.from(h.serialize());
    for (let i = 0; i < 100; i++) h.record(50_000);
    const window = Histogram.difference(h, earlier);
    expect(window.total).toBe(100);
    expect(Math.abs(window.quantile(0.5) - 50_000) / 50_000).toBeLessThan(0.01);
  });
});
