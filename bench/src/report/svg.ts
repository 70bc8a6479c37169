/**
 * Hand-written SVG charts (no browser, no library): horizontal bars, grouped vertical bars and
 * line charts, each a self-contained <svg> document.
 */
const palette = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#9c755f',
];
const font = 'font-family="sans-serif" font-size="12"';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * exp >= value) return m * exp;
  return 10 * exp;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return String(Math.round(v));
  return String(Math.round(v * 100) / 100);
}

export function horizontalBars(
  title: string,
  unit: string,
  bars: { label: string; value: number; note?: string }[],
): string {
  const width = 760;
  const left = 300;
  const barHeight = 24;
  const top = 40;
  const height = top + bars.length * (barHeight + 10) + 30;
  const max = niceMax(Math.max(...bars.map((b) => (Number.isFinite(b.value) ? b.value : 0))));
  const scale = (v: number) => ((width - left - 120) * (Number.isFinite(v) ? v : 0)) / max;
  const rows = bars
    .map((b, i) => {
      const y = top + i * (barHeight + 10);
      const w = scale(b.value);
      return (
        `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>` +
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${palette[i % palette.length]}"/>` +
        `<text x="${left + w + 6}" y="${y + 16}">${Number.isFinite(b.value) ? fmt(b.value) : 'n/a'} ${esc(unit)}${b.note ? ` · ${esc(b.note)}` : ''}</text>`
      );
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${font}>` +
    `<rect width="100%" height="100%" fill="white"/><text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>${rows}</svg>\n`
  );
}

export function groupedBars(
  title: string,
  unit: string,
  groups: { label: string; values: number[] }[],
  series: string[],
): string {
  const width = 760;
  const height = 340;
  const left = 60;
  const bottom = height - 50;
  const top = 50;
  const max = niceMax(Math.max(1, ...groups.flatMap((g) => g.values.filter(Number.isFinite))));
  const groupWidth = (width - left - 20) / Math.max(1, groups.length);
  const barWidth = Math.min(40, (groupWidth - 20) / Math.max(1, series.length));
  const y = (v: number) => bottom - ((bottom - top) * Math.min(v, max)) / max;
  let body = '';
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    body += `<line x1="${left}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`;
  }
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupWidth + (groupWidth - barWidth * series.length) / 2;
    g.values.forEach((v, si) => {
      const h = Number.isFinite(v) ? bottom - y(v) : 0;
      const x = x0 + si * barWidth;
      body += `<rect x="${x.toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${palette[si % palette.length]}"/>`;
      body += `<text x="${(x + barWidth / 2).toFixed(1)}" y="${(bottom - h - 4).toFixed(1)}" text-anchor="middle" font-size="10">${Number.isFinite(v) ? fmt(v) : 'n/a'}</text>`;
    });
    body += `<text x="${(left + gi * groupWidth + groupWidth / 2).toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${esc(g.label)}</text>`;
  });
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${left + i * 110}" y="30" width="10" height="10" fill="${palette[i % palette.length]}"/><text x="${left + i * 110 + 14}" y="39">${esc(s)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${font}>` +
    `<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>${legend}` +
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#333"/><line x1="${left}" x2="${width - 10}" y1="${bottom}" y2="${bottom}" stroke="#333"/>` +
    `<text x="14" y="${(top + bottom) / 2}" transform="rotate(-90 14 ${(top + bottom) / 2})" text-anchor="middle">${esc(unit)}</text>${body}</svg>\n`
  );
}

export function lines(
  title: string,
  xLabel: string,
  yLabel: string,
  series: { name: string; points: { x: number; y: number }[] }[],
  options: { logX?: boolean; yMax?: number } = {},
): string {
  const width = 760;
  const height = 360;
  const left = 70;
  const right = width - 20;
  const top = 50;
  const bottom = height - 50;
  const all = series
    .flatMap((s) => s.points)
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xsRaw = all.map((p) => p.x);
  const minX = options.logX
    ? Math.max(0.01, Math.min(...xsRaw.filter((x) => x > 0), 1))
    : Math.min(0, ...xsRaw);
  const maxX = niceMax(Math.max(1e-9, ...xsRaw));
  const maxY = options.yMax ?? niceMax(Math.max(1e-9, ...all.map((p) => p.y)));
  const tx = (x: number) =>
    options.logX
      ? left +
        ((right - left) * (Math.log10(Math.max(x, minX)) - Math.log10(minX))) /
          Math.max(1e-9, Math.log10(maxX) - Math.log10(minX))
      : left + ((right - left) * (x - minX)) / Math.max(1e-9, maxX - minX);
  const ty = (y: number) => bottom - ((bottom - top) * Math.min(y, maxY)) / maxY;
  let body = '';
  for (let t = 0; t <= 4; t++) {
    const v = (maxY * t) / 4;
    body += `<line x1="${left}" x2="${right}" y1="${ty(v)}" y2="${ty(v)}" stroke="#ddd"/><text x="${left - 6}" y="${ty(v) + 4}" text-anchor="end">${fmt(v)}</text>`;
  }
  const xTicks: number[] = [];
  if (options.logX)
    for (let v = 10 ** Math.floor(Math.log10(minX)); v <= maxX * 1.0001; v *= 10) xTicks.push(v);
  else for (let t = 0; t <= 5; t++) xTicks.push(minX + ((maxX - minX) * t) / 5);
  for (const v of xTicks) {
    if (v < minX * 0.999) continue;
    body += `<line x1="${tx(v)}" x2="${tx(v)}" y1="${top}" y2="${bottom}" stroke="#eee"/><text x="${tx(v)}" y="${bottom + 16}" text-anchor="middle">${fmt(v)}</text>`;
  }
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length === 0) return;
    const d = pts
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${tx(p.x).toFixed(1)},${ty(p.y).toFixed(1)}`)
      .join(' ');
    body += `<path d="${d}" fill="none" stroke="${palette[i % palette.length]}" stroke-width="2"/>`;
  });
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${left + i * 190}" y="30" width="10" height="10" fill="${palette[i % palette.length]}"/><text x="${left + i * 190 + 14}" y="39">${esc(s.name)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${font}>` +
    `<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>${legend}` +
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#333"/><line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>` +
    `${body}<text x="${(left + right) / 2}" y="${height - 12}" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text x="16" y="${(top + bottom) / 2}" transform="rotate(-90 16 ${(top + bottom) / 2})" text-anchor="middle">${esc(yLabel)}</text></svg>\n`
  );
}
