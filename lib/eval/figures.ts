/**
 * Figures as plain SVG strings: line / scatter charts (linear or log x) and grouped bar charts,
 * with a title, axes, ticks, axis labels and a legend. No DOM, no dependencies: the output is a
 * standalone SVG file that can also be inlined in HTML.
 *
 * Missing values (null, NaN, +-Infinity, and x <= 0 on a log axis) are gaps: a line breaks there
 * and no point or bar is drawn. Domains always contain every drawn value, so nothing is clipped.
 *
 * @module
 */

/**
 * Okabe-Ito colours (safe for the common colour-vision deficiencies), yellow left out because it
 * is unreadable on white.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PALETTE } from "./figures.ts";
 * assert.equal(PALETTE[0], "#0072B2");
 * assert.equal(PALETTE.length, 8);
 * ```
 */
export const PALETTE: readonly string[] = Object.freeze([
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#999999",
]);

/**
 * One line or set of points.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineChart, type Series } from "./figures.ts";
 * const val: Series = { label: "val", x: [0, 0.5, 1], y: [61.2, null, 64.8], dash: "6 3" };
 * const svg = lineChart({ title: "tau", xLabel: "tau", yLabel: "accuracy (%)", series: [val] });
 * assert.match(svg, /stroke-dasharray="6 3"/);
 * ```
 */
export interface Series {
  /** Legend text. */
  label: string;
  /** X of each point. */
  x: readonly number[];
  /** Y of each point; null or a non-finite number is a gap. */
  y: readonly (number | null)[];
  /** Stroke / fill colour (default: {@link PALETTE} by position). */
  color?: string;
  /** SVG stroke-dasharray of the line, e.g. "6 3" (default solid). */
  dash?: string;
  /** Draw lines, points or both (default both). */
  style?: "line" | "points" | "both";
}

/**
 * A highlighted point with a dashed vertical guide and a label (e.g. the chosen tau).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineChart, type Marker } from "./figures.ts";
 * const chosen: Marker = { x: 0.8, y: 66.1, label: "tau = 0.8" };
 * const svg = lineChart({
 *   title: "tau-norm",
 *   xLabel: "tau",
 *   yLabel: "val accuracy (%)",
 *   series: [{ label: "val", x: [0, 0.8, 1.6], y: [60, 66.1, 63] }],
 *   markers: [chosen],
 * });
 * assert.ok(svg.includes("tau = 0.8"));
 * ```
 */
export interface Marker {
  /** X of the guide, in data units. */
  x: number;
  /** Y of the ring; without it only the guide is drawn. */
  y?: number | null;
  /** Text at the top of the guide ("" for none). */
  label: string;
  /** Colour of guide, ring and label (default dark grey). */
  color?: string;
  /** Label side of the guide: "start" right of it, "end" left (default: away from the edge). */
  anchor?: "start" | "end";
}

/**
 * Size and text of any chart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { barChart, type ChartFrame } from "./figures.ts";
 * const frame: ChartFrame = {
 *   title: "Accuracy",
 *   xLabel: "group",
 *   yLabel: "%",
 *   width: 480,
 *   height: 300,
 *   yInclude: [0],
 *   yCap: 100,
 * };
 * const svg = barChart({
 *   ...frame,
 *   categories: ["Many"],
 *   series: [{ label: "cRT", values: [80] }],
 * });
 * assert.match(svg, /^<svg [^>]*width="480"/);
 * ```
 */
export interface ChartFrame {
  /** Title drawn above the plot (also the SVG's `<title>`). */
  title: string;
  /** X axis label. */
  xLabel: string;
  /** Y axis label. */
  yLabel: string;
  /** Pixels (default 720). */
  width?: number;
  /** Pixels (default 400). */
  height?: number;
  /** Values the y axis must include (e.g. 0), on top of the data. */
  yInclude?: readonly number[];
  /** Top of the y axis when every value is at most this (100 for percentages). */
  yCap?: number;
  /** Draw the legend at the right (default true). */
  legend?: boolean;
}

/**
 * A line / scatter chart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineChart, type LineChartSpec } from "./figures.ts";
 * const spec: LineChartSpec = {
 *   title: "Per-class accuracy",
 *   xLabel: "training images (log)",
 *   yLabel: "accuracy (%)",
 *   xScale: "log",
 *   series: [{ label: "joint", x: [5980, 600, 60], y: [95, 80, 20], style: "points" }],
 * };
 * assert.match(lineChart(spec), /^<svg /);
 * ```
 */
export interface LineChartSpec extends ChartFrame {
  /** Lines / point sets, in legend order. */
  series: readonly Series[];
  /** X axis scale (default linear). On a log axis, x <= 0 is a gap. */
  xScale?: "linear" | "log";
  /** Ticks on integers only (epochs). */
  xInteger?: boolean;
  /** Values the x axis must include, on top of the data. */
  xInclude?: readonly number[];
  /** Highlighted x positions (vertical guides), e.g. a chosen tau. */
  markers?: readonly Marker[];
}

/**
 * One series of a bar chart: a value per category.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { barChart, type BarSeries } from "./figures.ts";
 * const crt: BarSeries = { label: "cRT", values: [90.1, 75.3, null] }; // null: no bar
 * const svg = barChart({
 *   title: "Shot groups",
 *   xLabel: "",
 *   yLabel: "%",
 *   categories: ["Many", "Medium", "Few"],
 *   series: [crt],
 * });
 * assert.ok(svg.includes(">cRT<"));
 * ```
 */
export interface BarSeries {
  /** Legend text. */
  label: string;
  /** Value of each category; null or non-finite draws no bar. */
  values: readonly (number | null)[];
  /** Half-length of an error bar per category (e.g. one standard deviation); null draws none. */
  errors?: readonly (number | null)[];
  /** Fill colour (default: PALETTE by position). */
  color?: string;
}

/**
 * A grouped bar chart: one group of bars per category, one bar per series.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { barChart, type BarChartSpec } from "./figures.ts";
 * const spec: BarChartSpec = {
 *   title: "Accuracy by shot group",
 *   xLabel: "group",
 *   yLabel: "accuracy (%)",
 *   yInclude: [0],
 *   categories: ["Many", "Medium", "Few"],
 *   series: [
 *     { label: "joint", values: [95, 70, 20] },
 *     { label: "cRT", values: [90, 78, 55] },
 *   ],
 * };
 * assert.match(barChart(spec), /<\/svg>\s*$/);
 * ```
 */
export interface BarChartSpec extends ChartFrame {
  /** Category labels along x. */
  categories: readonly string[];
  /** One bar per series in each category, in legend order. */
  series: readonly BarSeries[];
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
const AXIS = "#333333";
const GRID = "#e6e6e6";

/**
 * Escapes text for XML content and attribute values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeXml } from "./figures.ts";
 * assert.equal(escapeXml(`a < b & "c"`), "a &lt; b &amp; &quot;c&quot;");
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`,
  );
}

/** A coordinate rounded to 0.01 px: short output, and never `NaN` in an attribute. */
function px(v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`Cannot draw a figure: coordinate ${v}`);
  return String(Math.round(v * 100) / 100);
}

/**
 * A tick label: at most 6 significant digits, no floating-point noise (0.30000000000000004 is
 * "0.3"), thousands as "10k" from 10,000 up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTick } from "./figures.ts";
 * assert.equal(formatTick(0.1 + 0.2), "0.3");
 * assert.equal(formatTick(2000), "2000");
 * assert.equal(formatTick(20000), "20k");
 * ```
 */
export function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 && a < 1e9) return `${Number((v / 1000).toPrecision(6))}k`;
  return String(Number(v.toPrecision(6)));
}

/** Rough text width: the charts have no font metrics, and a slight overestimate is harmless. */
function textWidth(text: string, size: number): number {
  return text.length * size * 0.6;
}

function finite(v: number | null | undefined): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** 1, 2 or 5 times a power of ten, near `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/**
 * An axis: its range, tick values and scale.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type AxisTicks, linearAxis } from "./figures.ts";
 * const axis: AxisTicks = linearAxis([3, 17]);
 * assert.deepEqual(axis, { lo: 2, hi: 18, ticks: [2, 4, 6, 8, 10, 12, 14, 16, 18], log: false });
 * ```
 */
export interface AxisTicks {
  /** Lowest value on the axis. */
  lo: number;
  /** Highest value on the axis. */
  hi: number;
  /** Tick values, ascending. */
  ticks: number[];
  /** Whether the axis is logarithmic. */
  log: boolean;
}

/**
 * A linear axis around the values: ticks 1, 2 or 5 times a power of ten apart (about five to
 * ten of them), ending on ticks; a single value gets a range around it.
 *
 * @param values The values to cover.
 * @param integer Integer ticks only (epochs).
 * @returns Range and ticks.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linearAxis } from "./figures.ts";
 * assert.deepEqual(linearAxis([0.05, 0.95]).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
 * ```
 */
export function linearAxis(values: readonly number[], integer = false): AxisTicks {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (values.length === 0) [lo, hi] = [0, 1];
  if (integer && hi - lo < 2) [lo, hi] = [Math.floor(lo) - 1, Math.ceil(hi) + 1];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  let step = niceStep((hi - lo) / 5);
  if (integer) step = Math.max(1, Math.round(step));
  const clean = (v: number) => Number(v.toPrecision(12));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(clean(k * step));
  return { lo: ticks[0], hi: ticks[ticks.length - 1], ticks, log: false };
}

/**
 * A log axis over the positive values, padded a little: ticks at decades, plus 2 and 5 times
 * them when the range spans at most three decades.
 *
 * @param values The values to cover (non-positive ones are ignored).
 * @returns Range and ticks.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logAxis } from "./figures.ts";
 * assert.deepEqual(logAxis([60, 5980]).ticks, [50, 100, 200, 500, 1000, 2000, 5000]);
 * ```
 */
export function logAxis(values: readonly number[]): AxisTicks {
  const pos = values.filter((v) => v > 0);
  let lo = pos.length ? Math.min(...pos) : 1;
  let hi = pos.length ? Math.max(...pos) : 10;
  if (lo === hi) [lo, hi] = [lo / 2, hi * 2];
  const pad = Math.max(1.1, (hi / lo) ** 0.04);
  [lo, hi] = [lo / pad, hi * pad];
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  const mantissas = e1 - e0 <= 3 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = e0; e <= e1; e++) {
    for (const m of mantissas) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  // NOTE: a narrow range (say 100..150) holds fewer than two of those; fall back to linear
  // ticks inside it, still drawn on the log scale.
  if (ticks.length < 2) {
    return {
      lo,
      hi,
      ticks: linearAxis([lo, hi]).ticks.filter((t) => t >= lo && t <= hi),
      log: true,
    };
  }
  return { lo, hi, ticks, log: true };
}

/** Cuts ticks above `cap` when no value goes there (headroom and nice rounding may). */
function capped(axis: AxisTicks, values: readonly number[], cap: number | undefined): AxisTicks {
  if (cap === undefined || axis.hi <= cap || values.some((v) => v > cap)) return axis;
  const ticks = axis.ticks.filter((t) => t <= cap);
  if (ticks[ticks.length - 1] !== cap) ticks.push(cap);
  return ticks.length < 2 ? axis : { ...axis, hi: cap, ticks };
}

function scaler(axis: AxisTicks, from: number, to: number): (v: number) => number {
  if (axis.log) {
    const a = Math.log10(axis.lo);
    const b = Math.log10(axis.hi);
    return (v) => from + ((Math.log10(v) - a) / (b - a)) * (to - from);
  }
  return (v) => from + ((v - axis.lo) / (axis.hi - axis.lo)) * (to - from);
}

interface Layout {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function legendWidth(labels: readonly string[]): number {
  if (labels.length === 0) return 16;
  return Math.min(260, Math.max(...labels.map((l) => textWidth(l, 12))) + 48);
}

function open(frame: ChartFrame, width: number, height: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" role="img" font-family="${escapeXml(FONT)}">` +
    `<title>${escapeXml(frame.title)}</title>` +
    `<rect width="${width}" height="${height}" fill="#ffffff"/>` +
    `<text x="${px(width / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="600" ` +
    `fill="${AXIS}">${escapeXml(frame.title)}</text>`;
}

/** Gridlines, y ticks and the y axis label. */
function yAxis(frame: ChartFrame, l: Layout, axis: AxisTicks, y: (v: number) => number): string {
  let out = "";
  for (const t of axis.ticks) {
    const ty = px(y(t));
    out += `<line x1="${l.left}" x2="${l.width - l.right}" y1="${ty}" y2="${ty}" ` +
      `stroke="${GRID}"/>` +
      `<text x="${l.left - 6}" y="${ty}" dy="0.32em" text-anchor="end" font-size="11" ` +
      `fill="${AXIS}">${formatTick(t)}</text>`;
  }
  const cy = px((l.top + l.height - l.bottom) / 2);
  out += `<text x="16" y="${cy}" transform="rotate(-90 16 ${cy})" text-anchor="middle" ` +
    `dy="0.32em" font-size="12" fill="${AXIS}">${escapeXml(frame.yLabel)}</text>`;
  return out;
}

function axesBox(frame: ChartFrame, l: Layout, xLabelY: number): string {
  const x0 = l.left;
  const x1 = l.width - l.right;
  const y1 = l.height - l.bottom;
  return `<line x1="${x0}" x2="${x0}" y1="${l.top}" y2="${y1}" stroke="${AXIS}"/>` +
    `<line x1="${x0}" x2="${x1}" y1="${y1}" y2="${y1}" stroke="${AXIS}"/>` +
    `<text x="${px((x0 + x1) / 2)}" y="${px(xLabelY)}" text-anchor="middle" font-size="12" ` +
    `fill="${AXIS}">${escapeXml(frame.xLabel)}</text>`;
}

interface LegendEntry {
  label: string;
  color: string;
  dash?: string;
  kind: "line" | "points" | "both" | "bar";
}

function legend(entries: readonly LegendEntry[], l: Layout): string {
  let out = "";
  const x = l.width - l.right + 16;
  entries.forEach((e, i) => {
    const y = l.top + 8 + i * 18;
    if (e.kind === "bar") {
      out += `<rect x="${x}" y="${y - 5}" width="20" height="10" fill="${e.color}"/>`;
    } else {
      if (e.kind !== "points") {
        out += `<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${e.color}" ` +
          `stroke-width="2"${e.dash ? ` stroke-dasharray="${e.dash}"` : ""}/>`;
      }
      if (e.kind !== "line") out += `<circle cx="${x + 11}" cy="${y}" r="3" fill="${e.color}"/>`;
    }
    out += `<text x="${x + 28}" y="${y}" dy="0.32em" font-size="12" fill="${AXIS}">` +
      `${escapeXml(e.label)}</text>`;
  });
  return out;
}

function noData(l: Layout): string {
  return `<text x="${px((l.left + l.width - l.right) / 2)}" ` +
    `y="${px((l.top + l.height - l.bottom) / 2)}" text-anchor="middle" font-size="13" ` +
    `fill="#777777">no data</text>`;
}

/**
 * A line / scatter chart as a standalone SVG document.
 *
 * @param spec Title, axis labels, series, scale and markers.
 * @returns The SVG text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineChart } from "./figures.ts";
 * const svg = lineChart({
 *   title: "Loss", xLabel: "epoch", yLabel: "loss", xInteger: true,
 *   series: [{ label: "train", x: [1, 2, 3], y: [2.1, 1.2, NaN] }],
 * });
 * assert.match(svg, /^<svg /);
 * ```
 */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 400;
  const log = spec.xScale === "log";
  const usable = (x: number, y: number | null | undefined): y is number =>
    Number.isFinite(x) && finite(y) && (!log || x > 0);
  const xs: number[] = [...(spec.xInclude ?? [])];
  const ys: number[] = [...(spec.yInclude ?? [])];
  for (const s of spec.series) {
    s.x.forEach((x, i) => {
      const y = s.y[i];
      if (usable(x, y)) {
        xs.push(x);
        ys.push(y);
      }
    });
  }
  for (const m of spec.markers ?? []) {
    if (Number.isFinite(m.x) && (!log || m.x > 0)) {
      xs.push(m.x);
      if (finite(m.y)) ys.push(m.y);
    }
  }
  const data = [...ys];
  // NOTE: marker labels sit in rows at the top of the plot; headroom keeps them off the data.
  const labelled = (spec.markers ?? []).filter((m) => m.label !== "").length;
  if (labelled > 0 && ys.length > 0) {
    const top = Math.max(...ys);
    const span = top - Math.min(...ys) || Math.abs(top) || 1;
    ys.push(top + span * (0.06 + 0.06 * labelled));
  }
  const hasData = spec.series.some((s) => s.x.some((x, i) => usable(x, s.y[i])));
  const xAxis = log ? logAxis(xs) : linearAxis(xs, spec.xInteger);
  const yAx = capped(linearAxis(ys), data, spec.yCap);
  const entries: LegendEntry[] = spec.series.map((s, i) => ({
    label: s.label,
    color: s.color ?? PALETTE[i % PALETTE.length],
    dash: s.dash,
    kind: s.style ?? "both",
  }));
  const l: Layout = {
    width,
    height,
    left: 40 + Math.max(...yAx.ticks.map((t) => textWidth(formatTick(t), 11))),
    right: spec.legend === false ? 24 : legendWidth(entries.map((e) => e.label)),
    top: 40,
    bottom: 52,
  };
  const x = scaler(xAxis, l.left, width - l.right);
  const y = scaler(yAx, height - l.bottom, l.top);
  let out = open(spec, width, height) + yAxis(spec, l, yAx, y);
  for (const t of xAxis.ticks) {
    const tx = px(x(t));
    out += `<line x1="${tx}" x2="${tx}" y1="${l.top}" y2="${height - l.bottom}" ` +
      `stroke="${GRID}"/>` +
      `<line x1="${tx}" x2="${tx}" y1="${height - l.bottom}" y2="${height - l.bottom + 5}" ` +
      `stroke="${AXIS}"/>` +
      `<text x="${tx}" y="${height - l.bottom + 18}" text-anchor="middle" font-size="11" ` +
      `fill="${AXIS}">${formatTick(t)}</text>`;
  }
  out += axesBox(spec, l, height - 12);
  spec.series.forEach((s, i) => {
    const color = entries[i].color;
    const style = s.style ?? "both";
    const runs: [number, number][][] = [[]];
    s.x.forEach((xv, k) => {
      const yv = s.y[k];
      if (usable(xv, yv)) runs[runs.length - 1].push([x(xv), y(yv)]);
      else if (runs[runs.length - 1].length > 0) runs.push([]);
    });
    let g = "";
    for (const run of runs) {
      if (style !== "points" && run.length > 1) {
        g += `<path d="${run.map(([a, b], k) => `${k ? "L" : "M"}${px(a)} ${px(b)}`).join("")}" ` +
          `fill="none" stroke="${color}" stroke-width="2"` +
          `${s.dash ? ` stroke-dasharray="${s.dash}"` : ""} stroke-linejoin="round"/>`;
      }
      // NOTE: a lone point between two gaps has no line; draw it anyway so it is not lost.
      if (style !== "line" || run.length === 1) {
        for (const [a, b] of run) g += `<circle cx="${px(a)}" cy="${px(b)}" r="3.5"/>`;
      }
    }
    out += `<g fill="${color}"><title>${escapeXml(s.label)}</title>${g}</g>`;
  });
  (spec.markers ?? []).forEach((m, i) => {
    if (!Number.isFinite(m.x) || (log && m.x <= 0)) return;
    const color = m.color ?? AXIS;
    const mx = px(x(m.x));
    out +=
      `<line x1="${mx}" x2="${mx}" y1="${l.top}" y2="${height - l.bottom}" stroke="${color}" ` +
      `stroke-dasharray="3 3"/>`;
    if (finite(m.y)) {
      out += `<circle cx="${mx}" cy="${px(y(m.y))}" r="7" fill="none" stroke="${color}" ` +
        `stroke-width="2"/>`;
    }
    const anchor = m.anchor ?? (x(m.x) > (l.left + width - l.right) / 2 ? "end" : "start");
    out += `<text x="${mx}" dx="${anchor === "end" ? -4 : 4}" y="${l.top + 12 + 14 * i}" ` +
      `text-anchor="${anchor}" font-size="11" fill="${color}" stroke="#ffffff" ` +
      `stroke-width="3" paint-order="stroke">${escapeXml(m.label)}</text>`;
  });
  if (!hasData) out += noData(l);
  return out + (spec.legend === false ? "" : legend(entries, l)) + "</svg>\n";
}

/**
 * One method's reliability curve: per confidence bin, the mean top-1 confidence and the accuracy
 * of its rows, in [0, 1]; null for an empty bin.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import type { ReliabilitySeries } from "./figures.ts";
 * const crt: ReliabilitySeries = {
 *   label: "cRT",
 *   confidence: [0.4, null, 0.95],
 *   accuracy: [0.3, null, 0.9],
 * };
 * equal(crt.confidence.length, crt.accuracy.length);
 * ```
 */
export interface ReliabilitySeries {
  /** Legend text. */
  label: string;
  /** Mean confidence of each bin. */
  confidence: readonly (number | null)[];
  /** Accuracy of each bin. */
  accuracy: readonly (number | null)[];
  /** Colour (default: {@link PALETTE} by position). */
  color?: string;
  /** Dash of the line. */
  dash?: string;
}

/**
 * A reliability diagram as a standalone SVG document: accuracy against mean confidence of each
 * confidence bin, both in percent, for every method, with the diagonal of perfect calibration.
 * Points below the diagonal are over-confident; empty bins are gaps.
 *
 * @param title Title of the chart.
 * @param series One curve per method.
 * @returns The SVG text.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { reliabilityDiagram, xmlProblem } from "./figures.ts";
 * const svg = reliabilityDiagram("Reliability", [
 *   { label: "cRT", confidence: [0.4, null, 0.95], accuracy: [0.3, null, 0.9] },
 * ]);
 * ok(svg.includes("perfect calibration"));
 * ok(xmlProblem(svg) === null);
 * ```
 */
export function reliabilityDiagram(title: string, series: readonly ReliabilitySeries[]): string {
  const pct = (v: number | null) => (v === null ? null : 100 * v);
  return lineChart({
    title,
    xLabel: "mean top-1 confidence of the bin (%)",
    yLabel: "accuracy of the bin (%)",
    xInclude: [0, 100],
    yInclude: [0, 100],
    yCap: 100,
    series: [
      { label: "perfect calibration", x: [0, 100], y: [0, 100], color: "#bbbbbb", style: "line" },
      ...series.map((s): Series => ({
        label: s.label,
        color: s.color,
        dash: s.dash,
        // Bins without rows have no confidence: their points are gaps.
        x: s.confidence.map((c) => (c === null ? NaN : 100 * c)),
        y: s.accuracy.map(pct),
      })),
    ],
  });
}

/**
 * A grouped bar chart as a standalone SVG document; the y axis always includes 0. Long category
 * labels are drawn slanted.
 *
 * @param spec Title, axis labels, categories and series.
 * @returns The SVG text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { barChart } from "./figures.ts";
 * const svg = barChart({
 *   title: "Accuracy", xLabel: "group", yLabel: "%", categories: ["Many", "Few"],
 *   series: [{ label: "cRT", values: [90, 70] }, { label: "LWS", values: [89, null] }],
 * });
 * assert.ok(svg.includes("<rect"));
 * ```
 */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 400;
  for (const s of spec.series) {
    if (s.values.length !== spec.categories.length) {
      throw new RangeError(
        `Cannot draw bar chart "${spec.title}": series "${s.label}" has ${s.values.length} ` +
          `values for ${spec.categories.length} categories`,
      );
    }
  }
  const values = spec.series.flatMap((s) => s.values.filter(finite));
  // Whisker ends belong to the domain too, so no error bar is clipped.
  const whiskers = spec.series.flatMap((s) =>
    s.values.flatMap((v, k) => {
      const e = s.errors?.[k];
      return finite(v) && finite(e) ? [v - Math.abs(e), v + Math.abs(e)] : [];
    })
  );
  const yAx = capped(
    linearAxis([0, ...(spec.yInclude ?? []), ...values, ...whiskers]),
    values,
    spec.yCap,
  );
  const entries: LegendEntry[] = spec.series.map((s, i) => ({
    label: s.label,
    color: s.color ?? PALETTE[i % PALETTE.length],
    kind: "bar",
  }));
  const right = spec.legend === false ? 24 : legendWidth(entries.map((e) => e.label));
  const left = 40 + Math.max(...yAx.ticks.map((t) => textWidth(formatTick(t), 11)));
  const slot = (width - left - right) / Math.max(1, spec.categories.length);
  const longest = Math.max(0, ...spec.categories.map((c) => textWidth(c, 11)));
  const slant = longest > slot - 4;
  const l: Layout = {
    width,
    height,
    left,
    right,
    top: 40,
    bottom: slant ? Math.min(160, 40 + longest * 0.72) : 52,
  };
  const y = scaler(yAx, height - l.bottom, l.top);
  let out = open(spec, width, height) + yAxis(spec, l, yAx, y);
  const inner = slot * 0.8;
  const bar = inner / Math.max(1, spec.series.length);
  const base = y(Math.max(yAx.lo, Math.min(0, yAx.hi)));
  spec.categories.forEach((c, k) => {
    const cx = left + slot * (k + 0.5);
    const ty = height - l.bottom + 16;
    out += slant
      ? `<text x="${px(cx)}" y="${ty}" transform="rotate(-40 ${px(cx)} ${ty})" ` +
        `text-anchor="end" font-size="11" fill="${AXIS}">${escapeXml(c)}</text>`
      : `<text x="${px(cx)}" y="${ty}" text-anchor="middle" font-size="11" fill="${AXIS}">` +
        `${escapeXml(c)}</text>`;
  });
  spec.series.forEach((s, i) => {
    let g = "";
    s.values.forEach((v, k) => {
      if (!finite(v)) return;
      const bx = left + slot * k + (slot - inner) / 2 + bar * i;
      const top = Math.min(y(v), base);
      g += `<rect x="${px(bx)}" y="${px(top)}" width="${px(Math.max(0.5, bar - 1))}" ` +
        `height="${px(Math.abs(base - y(v)))}"><title>${
          escapeXml(
            `${s.label}, ` +
              `${spec.categories[k]}: ${formatTick(v)}`,
          )
        }</title></rect>`;
    });
    out += `<g fill="${entries[i].color}">${g}</g>`;
    let w = "";
    s.values.forEach((v, k) => {
      const e = s.errors?.[k];
      if (!finite(v) || !finite(e)) return;
      const cx = left + slot * k + (slot - inner) / 2 + bar * i + bar / 2;
      const [lo, hi] = [y(v - Math.abs(e)), y(v + Math.abs(e))];
      const cap = Math.min(4, bar / 3);
      w += `<path d="M${px(cx)} ${px(lo)}V${px(hi)}M${px(cx - cap)} ${px(hi)}H${px(cx + cap)}` +
        `M${px(cx - cap)} ${px(lo)}H${px(cx + cap)}"><title>${
          escapeXml(`${s.label}, ${spec.categories[k]}: ${formatTick(v)} ± ${formatTick(e)}`)
        }</title></path>`;
    });
    if (w) out += `<g class="error-bars" stroke="${AXIS}" fill="none">${w}</g>`;
  });
  out += axesBox(spec, l, height - 10);
  if (values.length === 0) out += noData(l);
  return out + (spec.legend === false ? "" : legend(entries, l)) + "</svg>\n";
}

/**
 * Panels side by side in one SVG document, under a common title.
 *
 * @param title The figure's title.
 * @param panels Standalone SVG documents from {@link lineChart} or {@link barChart}.
 * @returns The SVG text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineChart, panelRow } from "./figures.ts";
 * const a = lineChart({ title: "a", xLabel: "x", yLabel: "y", series: [], width: 300 });
 * assert.match(panelRow("two", [a, a]), /^<svg [^>]*width="600"/);
 * ```
 */
export function panelRow(title: string, panels: readonly string[]): string {
  const size = (svg: string) => {
    const m = /^<svg[^>]* width="([\d.]+)" height="([\d.]+)"/.exec(svg);
    if (!m) throw new TypeError(`Cannot combine panels: one does not start with a sized <svg>`);
    return [Number(m[1]), Number(m[2])];
  };
  const sizes = panels.map(size);
  const width = sizes.reduce((a, [w]) => a + w, 0);
  const height = Math.max(0, ...sizes.map(([, h]) => h));
  let x = 0;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" role="img"><title>${escapeXml(title)}</title>`;
  panels.forEach((svg, i) => {
    // A nested <svg> keeps each panel's own coordinates; its x attribute places it.
    out += svg.trimEnd().replace(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `<svg x="${x}"`);
    x += sizes[i][0];
  });
  return out + "</svg>\n";
}

/**
 * Checks that text is well-formed XML as far as these figures need: one root element, balanced
 * and properly nested tags, quoted attributes without duplicates, and no raw `<` or stray `&`
 * in text. Returns the first problem found, or null.
 *
 * @param text The document.
 * @returns A description of the first problem, or null when well formed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { xmlProblem } from "./figures.ts";
 * assert.equal(xmlProblem("<svg><g></g></svg>"), null);
 * assert.equal(xmlProblem("<svg><g></svg>"), "closing </svg> at 8 does not match <g>");
 * ```
 */
export function xmlProblem(text: string): string | null {
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const name = /^[A-Za-z_:][\w.:-]*/;
  const strayAmp = (chunk: string, at: number): string | null => {
    const amp = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(chunk);
    return amp ? `stray "&" at ${at + amp.index}` : null;
  };
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = text.slice(i, lt === -1 ? text.length : lt);
    const amp = strayAmp(chunk, i);
    if (amp) return amp;
    if (stack.length === 0 && chunk.trim() !== "") return `text outside the root at ${i}`;
    if (lt === -1) break;
    if (text.startsWith("<!--", lt)) {
      const end = text.indexOf("-->", lt + 4);
      if (end === -1) return `unterminated comment at ${lt}`;
      i = end + 3;
      continue;
    }
    if (text.startsWith("<?", lt)) {
      const end = text.indexOf("?>", lt + 2);
      if (end === -1 || stack.length > 0 || roots > 0) return `misplaced declaration at ${lt}`;
      i = end + 2;
      continue;
    }
    const closing = text[lt + 1] === "/";
    const m = name.exec(text.slice(lt + (closing ? 2 : 1)));
    if (!m) return `bad tag name at ${lt}`;
    let j = lt + (closing ? 2 : 1) + m[0].length;
    if (closing) {
      const gt = /^\s*>/.exec(text.slice(j));
      if (!gt) return `bad closing tag </${m[0]}> at ${lt}`;
      const top = stack.pop();
      if (top !== m[0]) {
        return top === undefined
          ? `closing </${m[0]}> at ${lt} without an opening tag`
          : `closing </${m[0]}> at ${lt} does not match <${top}>`;
      }
      i = j + gt[0].length;
      continue;
    }
    const seen = new Set<string>();
    for (;;) {
      const rest = text.slice(j);
      const end = /^\s*(\/?)>/.exec(rest);
      if (end) {
        if (stack.length === 0) roots++;
        if (roots > 1) return `second root element <${m[0]}> at ${lt}`;
        if (end[1] !== "/") stack.push(m[0]);
        i = j + end[0].length;
        break;
      }
      const attr = /^\s+([A-Za-z_:][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(rest);
      if (!attr) return `bad attribute in <${m[0]}> at ${j}`;
      if (seen.has(attr[1])) return `duplicate attribute ${attr[1]} in <${m[0]}> at ${j}`;
      seen.add(attr[1]);
      const valueAmp = strayAmp(attr[3] ?? attr[4], j);
      if (valueAmp) return valueAmp;
      j += attr[0].length;
    }
  }
  if (stack.length > 0) return `unclosed <${stack[stack.length - 1]}>`;
  if (roots === 0) return "no root element";
  return null;
}
