// SVG charts for the benchmark results (no charting library: a few lines of SVG), and a PNG
// copy through headless chromium when it is installed (test/support/ensure-chromium.sh).
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromiumMissing, launchChromium } from '../test/support/chromium.ts';

export interface Series {
  name: string;
  points: Array<[number, number]>;
  color?: string;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Horizontal reference lines (limits, targets). */
  hLines?: Array<{ y: number; label: string; color?: string }>;
  xMax?: number;
  yMax?: number;
  width?: number;
  height?: number;
  /** Draw markers on each point (for sparse series like a capacity curve). */
  markers?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A "nice" axis step for a range (1, 2 or 5 × 10^k). */
export function niceStep(range: number, ticks = 5): number {
  if (!(range > 0)) return 1;
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

export function lineChart(spec: ChartSpec): string {
  const W = spec.width ?? 820;
  const H = spec.height ?? 440;
  const L = 70, R = 190, T = 40, B = 50;
  const all = spec.series.flatMap((s) => s.points);
  const finite = all.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xMax = spec.xMax ?? Math.max(1, ...finite.map((p) => p[0]));
  const yMax = spec.yMax ?? Math.max(1, ...finite.map((p) => p[1]), ...(spec.hLines ?? []).map((h) => h.y * 1.1));
  const xs = niceStep(xMax);
  const ys = niceStep(yMax);
  const xTop = Math.ceil(xMax / xs) * xs;
  const yTop = Math.ceil(yMax / ys) * ys;
  const x = (v: number) => L + ((W - L - R) * Math.min(v, xTop)) / xTop;
  const y = (v: number) => T + (H - T - B) * (1 - Math.min(v, yTop) / yTop);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${L}" y="22" font-size="15" font-weight="bold">${esc(spec.title)}</text>`);
  for (let v = 0; v <= yTop + 1e-9; v += ys) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${+v.toFixed(6)}</text>`);
  }
  for (let v = 0; v <= xTop + 1e-9; v += xs) {
    out.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${T}" y2="${H - B}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x(v).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${+v.toFixed(6)}</text>`);
  }
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  for (const h of spec.hLines ?? []) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(h.y).toFixed(1)}" y2="${y(h.y).toFixed(1)}" stroke="${h.color ?? '#999'}" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${W - R - 4}" y="${(y(h.y) - 4).toFixed(1)}" text-anchor="end" fill="${h.color ?? '#666'}">${esc(h.label)}</text>`);
  }
  spec.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
    if (pts.length) {
      const d = pts.map(([a, b], k) => `${k ? 'L' : 'M'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join('');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
      if (spec.markers) for (const [a, b] of pts) out.push(`<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="3.5" fill="${color}"/>`);
    }
    const ly = T + 10 + i * 18;
    out.push(`<rect x="${W - R + 14}" y="${ly - 6}" width="14" height="4" fill="${color}"/><text x="${W - R + 34}" y="${ly}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Empirical CDF points of `samples`: x = value, y = percentile (0..100). */
export function cdf(samples: number[], maxPoints = 200): Array<[number, number]> {
  const v = [...samples].filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return [];
  const step = Math.max(1, Math.floor(v.length / maxPoints));
  const pts: Array<[number, number]> = [];
  for (let i = 0; i < v.length; i += step) pts.push([v[i], (100 * (i + 1)) / v.length]);
  pts.push([v[v.length - 1], 100]);
  return pts;
}

/** Writes the SVG; also a PNG (same name) when chromium is present. Returns the files written. */
export async function writeChart(svgPath: string, svg: string, png = true): Promise<string[]> {
  writeFileSync(svgPath, svg);
  const files = [svgPath];
  if (!png || chromiumMissing()) return files;
  const b = await launchChromium();
  try {
    const page = await b.newPage();
    const m = /width="(\d+)" height="(\d+)"/.exec(svg);
    await page.setViewportSize({ width: Number(m?.[1] ?? 820), height: Number(m?.[2] ?? 440) });
    await page.goto(pathToFileURL(svgPath).href);
    const pngPath = svgPath.replace(/\.svg$/, '.png');
    await page.screenshot({ path: pngPath });
    files.push(pngPath);
  } finally {
    await b.close();
  }
  return files;
}
