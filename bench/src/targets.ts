import { isNotMeasured, type BenchReport, type TargetRow } from './report-types.js';

/**
 * The performance issue's targets, judged from one report: every figure comes from the same run as
 * what it is compared with. A row is pass, fail, or not measured (pass null) with the reason in
 * `measured` — never a number the run did not measure.
 */
export const targetNames = [
  'completed sagas/s at saturation, distributed',
  'CPU per completed saga, all processes + PostgreSQL + NATS',
  "completed sagas/s, embedded (`npm start`'s system)",
  'accepted orders/s (durable 202s) vs the obvious design, same run',
  'p99 placement→CONFIRMED at half of saturation',
  'intake p99 at half of saturation',
  'statements per saga (amortised, at saturation)',
  'idle CPU, whole system',
  'RSS: embedded / distributed sum',
] as const;

const fmt = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || Number.isNaN(v)
    ? 'n/a'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits });

const known = (v: number | null | undefined): v is number =>
  v !== null && v !== undefined && !Number.isNaN(v);

function notMeasured(target: string, goal: string, why: string): TargetRow {
  return { target, goal, measured: `not measured: ${why}`, pass: null };
}

export function targets(report: Omit<BenchReport, 'targets'>): TargetRow[] {
  const rows: TargetRow[] = [];
  const targetMode = report.meta.runFrom === 'target';
  const older = 'not recorded: the report was written by an older bench';
  const [
    sagasName,
    cpuName,
    embeddedName,
    baselineName,
    e2eName,
    intakeName,
    stmtName,
    idleName,
    rssName,
  ] = targetNames;

  // 1. completed sagas/s at saturation, distributed
  const sat = report.saturation;
  const invariants = report.invariants?.ok;
  rows.push(
    sat
      ? {
          target: sagasName,
          goal: '≥ 1,000',
          measured: `${fmt(sat.sustainedSagasPerSecond)}/s over ${sat.windowSeconds} s; invariants ${invariants === undefined ? 'not checked' : invariants ? 'hold' : 'BROKEN'}`,
          pass: sat.sustainedSagasPerSecond >= 1000 && invariants !== false,
        }
      : notMeasured(
          sagasName,
          '≥ 1,000',
          targetMode && !report.intake
            ? 'the intake part did not run'
            : targetMode
              ? 'needs --order-db-url and --notification-db-url with --target'
              : 'the intake part did not run',
        ),
  );

  // 2. CPU per completed saga
  const cost = sat?.cost;
  if (cost && !isNotMeasured(cost.cpu)) {
    rows.push({
      target: cpuName,
      goal: '≤ 2 ms',
      measured: `${fmt(cost.cpu.sumMsPerSaga, 2)} ms (${fmt(cost.completedSagas)} sagas in ${cost.windowSeconds} s; per process below)`,
      pass: cost.cpu.sumMsPerSaga <= 2,
    });
  } else
    rows.push(
      notMeasured(
        cpuName,
        '≤ 2 ms',
        cost && isNotMeasured(cost.cpu)
          ? cost.cpu.notMeasured
          : targetMode
            ? "the target's processes are not the bench's to read (--target)"
            : sat
              ? older
              : 'the intake part did not run',
      ),
    );

  // 3. embedded
  const emb = report.embedded;
  rows.push(
    emb && known(emb.sustainedSagasPerSecond)
      ? {
          target: embeddedName,
          goal: '≥ 1,500',
          measured: `${fmt(emb.sustainedSagasPerSecond)}/s over ${emb.windowSeconds ?? '?'} s`,
          pass: emb.sustainedSagasPerSecond >= 1500,
        }
      : notMeasured(
          embeddedName,
          '≥ 1,500',
          emb?.error
            ? `the embedded run failed: ${emb.error.split('\n')[0]?.slice(0, 200) ?? ''}`
            : targetMode
              ? 'the embedded system is started by the bench, not in --target mode'
              : 'the embedded part did not run',
        ),
  );

  // 4. intake vs the obvious design
  const intake = report.intake?.acceptedPerSecond;
  const baseline = report.baseline?.acceptedPerSecond;
  if (known(intake) && known(baseline) && baseline > 0) {
    const ratio = Math.round((intake / baseline) * 100) / 100;
    rows.push({
      target: baselineName,
      goal: '≥ 1×',
      measured: `${ratio}× (${fmt(intake)}/s vs ${fmt(baseline)}/s)`,
      pass: ratio >= 1,
    });
  } else
    rows.push(
      notMeasured(
        baselineName,
        '≥ 1×',
        !known(intake) ? 'the intake part did not run' : 'the baseline part did not run',
      ),
    );

  // 5. and 6. half saturation
  const half = report.half;
  const e2e = half?.sagas?.toTerminalMs;
  if (half && half.sagas && e2e) {
    const s = half.sagas;
    const cancelled = Object.entries(s.cancelled)
      .map(([reason, count]) => `${count} ${reason}`)
      .join(', ');
    const confirmedP99 = s.toConfirmedMs.p99;
    rows.push({
      target: e2eName,
      goal: '≤ 100 ms',
      measured:
        `${fmt(e2e.p99, 1)} ms to a terminal state at ${fmt(half.rate)}/s offered (${fmt(s.placed)} placed: ` +
        `${fmt(s.confirmed)} CONFIRMED, p99 ${fmt(confirmedP99, 1)} ms; ${cancelled ? `CANCELLED ${cancelled}` : '0 CANCELLED'}` +
        `${s.open > 0 ? `; ${s.open} still open, counted at their age` : ''})`,
      pass: known(e2e.p99) ? e2e.p99 <= 100 && s.open === 0 : null,
    });
  } else
    rows.push(
      notMeasured(
        e2eName,
        '≤ 100 ms',
        !half
          ? 'the half-saturation part did not run'
          : targetMode
            ? 'needs --order-db-url and --notification-db-url with --target'
            : 'no saga figures for the half-saturation window',
      ),
    );
  if (half) {
    const l = half.http.latencyMs;
    const f = half.http.failures;
    const failures = f?.total ?? half.http.sent - (half.http.statuses['202'] ?? 0);
    rows.push({
      target: intakeName,
      goal: '≤ 20 ms, failures counted',
      measured: `${fmt(l.p99, 1)} ms at ${fmt(half.rate)}/s offered, ${fmt(half.http.sent)} requests; ${failures} failed${f && f.total > 0 ? ` (${f.shed} shed with 503, ${f.noAnswer} no answer, ${f.connectionErrors} broken connections, ${Object.values(f.otherStatuses).reduce((a, b) => a + b, 0)} other statuses)` : ''}`,
      pass: known(l.p99) ? l.p99 <= 20 && failures === 0 : null,
    });
  } else
    rows.push(
      notMeasured(intakeName, '≤ 20 ms, failures counted', 'the half-saturation part did not run'),
    );

  // 7. statements per saga
  if (cost && !isNotMeasured(cost.statements)) {
    rows.push({
      target: stmtName,
      goal: '≤ 12',
      measured: `${fmt(cost.statements.perSaga, 1)} (${fmt(cost.statements.total)} statements / ${fmt(cost.completedSagas)} completed sagas, pg_stat_statements)`,
      pass: cost.statements.perSaga <= 12,
    });
  } else
    rows.push(
      notMeasured(
        stmtName,
        '≤ 12',
        cost && isNotMeasured(cost.statements)
          ? cost.statements.notMeasured
          : targetMode
            ? "the target's databases are not known to the bench (--target)"
            : sat
              ? older
              : 'the intake part did not run',
      ),
    );

  // 8. idle CPU, whole system
  const idle = report.idle?.wholeSystem;
  rows.push(
    idle
      ? {
          target: idleName,
          goal: '< 1 % of a core',
          measured: `${fmt(idle.percentOfCore, 1)} % (${Object.entries(idle.parts)
            .map(([k, v]) => `${k} ${fmt(v, 1)}`)
            .join(
              ', ',
            )})${report.embedded?.idle ? `; embedded ${fmt(report.embedded.idle.percentOfCore, 1)} %` : ''}`,
          pass:
            idle.percentOfCore < 1 &&
            (report.embedded?.idle ? report.embedded.idle.percentOfCore < 1 : true),
        }
      : notMeasured(
          idleName,
          '< 1 % of a core',
          targetMode
            ? "the target's processes are not the bench's to read (--target)"
            : report.idle
              ? older
              : 'the idle part did not run',
        ),
  );

  // 9. RSS
  const embRss = report.embedded?.peakRssMB;
  const distRss = sat?.servicesPeakRssMB;
  const rssNote = '(peak RSS of the Node processes; PostgreSQL and NATS not included)';
  const embPart = known(embRss)
    ? `embedded ${fmt(embRss)} MB`
    : `embedded not measured (${emb?.error ? 'the embedded run failed' : targetMode ? '--target' : 'the embedded part did not run'})`;
  const distPart = known(distRss)
    ? `distributed ${fmt(distRss)} MB`
    : `distributed not measured (${targetMode ? "the target's processes are not the bench's to read" : 'the intake part did not run'})`;
  const rssFails = (known(embRss) && embRss > 400) || (known(distRss) && distRss > 900);
  if (rssFails || (known(embRss) && known(distRss)))
    rows.push({
      target: rssName,
      goal: '≤ 400 MB / ≤ 900 MB',
      measured: `${embPart} / ${distPart} ${rssNote}`,
      pass: !rssFails,
    });
  else rows.push(notMeasured(rssName, '≤ 400 MB / ≤ 900 MB', `${embPart} / ${distPart}`));
  return rows;
}
