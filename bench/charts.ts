/**
 * SVG charts for docs/benchmarks.md, written next to it in docs/charts/. Hand-written SVG: a
 * chart is a few lines and axes, and a plotting dependency would outweigh the benchmark.
 */
import { mkdirSync, writeFileSync } from 'node:fs';

export interface Series {
  name: string;
  /** [x, y] points; a non-finite y (a run that never finished) is drawn as a gap with a mark at the top. */
  points: [number, number][];
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** A horizontal reference line, e.g. a target ratio. */
  reference?: { y: number; label: string };
  /** Bars per x value instead of lines (for categories such as measures). */
  categories?: string[];
}

const DIR = new URL('../docs/charts/', import.meta.url);
const W = 640;
const H = 360;
const M = { left: 70, right: 150, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step giving about five ticks up to `max`. */
function niceStep(max: number): number {
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
}

function fmt(value: number): string {
  return Math.abs(value) >= 1000 ? value.toLocaleString('en-US') : String(Number(value.toPrecision(3)));
}

/** Renders `spec` to docs/charts/`file` and returns the SVG text. */
export function chart(file: string, spec: ChartSpec): string {
  const finite = spec.series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const yMax = Math.max(spec.reference?.y ?? 0, ...finite, 1e-9) * 1.1;
  const yStep = niceStep(yMax);
  const top = Math.ceil(yMax / yStep) * yStep;
  const xs = spec.categories ?? [...new Set(spec.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const y = (v: number) => M.top + plotH - (Math.min(v, top) / top) * plotH;
  const slot = plotW / xs.length;
  const xAt = (i: number) => M.left + slot * (i + 0.5);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - M.right / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  for (let v = 0; v <= top + 1e-9; v += yStep) {
    parts.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="#333"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${M.top + plotH}" y2="${M.top + plotH}" stroke="#333"/>`);
  xs.forEach((x, i) => parts.push(`<text x="${xAt(i)}" y="${M.top + plotH + 18}" text-anchor="middle">${esc(String(x))}</text>`));
  parts.push(`<text x="${M.left + plotW / 2}" y="${H - 10}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  if (spec.reference) {
    const ry = y(spec.reference.y);
    parts.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${ry}" y2="${ry}" stroke="#555" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${M.left + plotW + 6}" y="${ry + 4}">${esc(spec.reference.label)}</text>`);
  }
  spec.series.forEach((series, si) => {
    const color = COLORS[si % COLORS.length]!;
    const indexOf = (x: number | string) => xs.findIndex((v) => v === x);
    if (spec.categories) {
      const barW = (slot * 0.7) / spec.series.length;
      for (const [x, v] of series.points) {
        const i = indexOf(spec.categories[x] ?? x);
        const left = xAt(i) - (slot * 0.7) / 2 + si * barW;
        if (!Number.isFinite(v)) continue;
        parts.push(`<rect x="${left}" y="${y(v)}" width="${barW - 2}" height="${M.top + plotH - y(v)}" fill="${color}"/>`);
      }
    } else {
      let path = '';
      let penDown = false;
      for (const [x, v] of series.points) {
        const px = xAt(indexOf(x));
        if (!Number.isFinite(v)) {
          parts.push(`<text x="${px}" y="${M.top + 12}" text-anchor="middle" fill="${color}">never</text>`);
          penDown = false;
          continue;
        }
        path += `${penDown ? 'L' : 'M'}${px.toFixed(1)},${y(v).toFixed(1)} `;
        penDown = true;
        parts.push(`<circle cx="${px}" cy="${y(v)}" r="3.5" fill="${color}"/>`);
      }
      parts.push(`<path d="${path.trim()}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    parts.push(`<rect x="${M.left + plotW + 12}" y="${M.top + 8 + si * 20}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${M.left + plotW + 30}" y="${M.top + 18 + si * 20}">${esc(series.name)}</text>`);
  });
  parts.push('</svg>');
  const svg = parts.join('\n') + '\n';
  mkdirSync(DIR, { recursive: true });
  writeFileSync(new URL(file, DIR), svg);
  return svg;
}
