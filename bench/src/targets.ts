import type { BenchReport, TargetRow } from './report-types.js';

/** The issue's targets, judged from a report (pass, fail, or null when not measured). */
function ratio(a: number | undefined, b: number | undefined): number | null {
  if (!a || !b) return null;
  return Math.round((a / b) * 100) / 100;
}

export function targets(report: Omit<BenchReport, 'targets'>): TargetRow[] {
  const rows: TargetRow[] = [];
  const intake = report.intake?.acceptedPerSecond;
  const fastify = report.ceilings.fastify?.acceptedPerSecond;
  const baseline = report.baseline?.acceptedPerSecond;
  const fmt = (v: number | null | undefined, unit = '') =>
    v === null || v === undefined || Number.isNaN(v)
      ? 'n/a'
      : `${v.toLocaleString('en-US')}${unit}`;
  const check = (v: number | null | undefined, ok: (v: number) => boolean) =>
    v === null || v === undefined || Number.isNaN(v) ? null : ok(v);
  rows.push({
    target: 'intake at 500 connections',
    goal: '≥ 5,000 accepted orders/s',
    measured: fmt(intake, '/s'),
    pass: check(intake, (v) => v >= 5000),
  });
  const rf = ratio(intake, fastify);
  rows.push({
    target: 'intake vs Fastify validate-only ceiling',
    goal: '≥ 0.5×',
    measured: rf === null ? 'n/a' : `${rf}×`,
    pass: check(rf, (v) => v >= 0.5),
  });
  const rb = ratio(intake, baseline);
  rows.push({
    target: 'intake vs obvious design (same run)',
    goal: '≥ 3.5×',
    measured: rb === null ? 'n/a' : `${rb}×`,
    pass: check(rb, (v) => v >= 3.5),
  });
  const at1000 = report.latency.find((l) => l.http.offeredRate === 1000);
  const p99 = at1000?.http.latencyMs.p99;
  const errors1000 = at1000 ? at1000.http.sent - (at1000.http.statuses['202'] ?? 0) : 0;
  rows.push({
    target: 'intake p99 at an offered 1,000 orders/s',
    goal: '≤ 20 ms (all accepted)',
    measured: at1000
      ? `${fmt(p99, ' ms')}${errors1000 > 0 ? `, ${errors1000} not accepted` : ''}`
      : 'n/a',
    // nothing accepted at all is a failure, not a missing measurement
    pass: at1000
      ? at1000.http.statuses['202']
        ? check(p99, (v) => v <= 20 && errors1000 === 0)
        : false
      : null,
  });
  const sustained = report.saturation?.sustainedSagasPerSecond;
  const windowOk = (report.saturation?.windowSeconds ?? 0) >= 60;
  const invariantsOk = report.invariants?.ok;
  rows.push({
    target: 'end-to-end sagas/s sustained for 60 s, invariants holding',
    goal: '≥ 1,000/s',
    measured: `${fmt(sustained, '/s')} over ${report.saturation?.windowSeconds ?? 0} s; invariants ${invariantsOk === undefined ? 'not checked' : invariantsOk ? 'hold' : 'BROKEN'}`,
    pass: check(sustained, (v) => v >= 1000 && windowOk && invariantsOk === true),
  });
  const p99e2e = report.e2eFixed?.sagas.toConfirmedMs.p99;
  rows.push({
    target: `p99 placement→confirmation at an offered ${report.e2eFixed?.rate ?? 200}/s`,
    goal: '≤ 100 ms',
    measured: fmt(p99e2e, ' ms'),
    pass: check(p99e2e, (v) => v <= 100),
  });
  const idle = report.idle?.servicesCpuPercentOfCore;
  rows.push({
    target: 'idle CPU of the services',
    goal: '< 2 % (of one core)',
    measured: fmt(idle, ' %'),
    pass: check(idle, (v) => v < 2),
  });
  const rss = report.saturation?.servicesPeakRssMB;
  rows.push({
    target: 'total RSS of the services under load (sum of peaks)',
    goal: '< 600 MB',
    measured: fmt(rss, ' MB'),
    pass: check(rss, (v) => v < 600),
  });
  return rows;
}
