/// <reference lib="dom" />
/**
 * The page's charts as SVG (and the confusion matrix as a canvas): the long tail, per-class
 * accuracy against training count, weight norms and the validation curve over tau. Every mark
 * that stands for a class calls `onHover(class)`, so one tooltip shows its counts and accuracies.
 *
 * @module
 */

import { svg } from "./dom.ts";

/** Shot-group colours (Many, Medium, Few), as in the report. */
export const GROUP_COLOURS: Readonly<Record<string, string>> = Object.freeze({
  many: "#3b6ea8",
  medium: "#d8892b",
  few: "#b53d3d",
});

const W = 560, H = 220, L = 48, R = 12, T = 12, B = 30;

/** Hover callback: a class index, or null when the pointer leaves the chart. */
export type Hover = (c: number | null, event: MouseEvent) => void;

function frame(title: string): SVGElement {
  return svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    height: H,
    role: "img",
    "aria-label": title,
  }, svg("title", {}, title));
}

function axes(
  root: SVGElement,
  yTicks: [number, string][],
  xLabel: string,
  yOf: (v: number) => number,
) {
  root.append(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
  root.append(svg("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
  for (const [v, text] of yTicks) {
    const y = yOf(v);
    root.append(svg("line", { x1: L - 4, y1: y, x2: W - R, y2: y, class: "grid" }));
    root.append(svg("text", { x: L - 6, y: y + 4, "text-anchor": "end", class: "tick" }, text));
  }
  root.append(
    svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "tick" }, xLabel),
  );
}

function hoverable(node: SVGElement, c: number, onHover: Hover): SVGElement {
  node.setAttribute("data-class", String(c));
  node.addEventListener("mousemove", (e) => onHover(c, e as MouseEvent));
  node.addEventListener("mouseleave", (e) => onHover(null, e as MouseEvent));
  return node;
}

/**
 * One bar per class, coloured by shot group.
 *
 * @param values Bar heights.
 * @param groups Shot group of each class.
 * @param title Accessible title.
 * @param yLabel Axis caption under the chart.
 * @param onHover Hover callback.
 */
export function classBars(
  values: readonly number[],
  groups: readonly string[],
  title: string,
  yLabel: string,
  onHover: Hover,
): SVGElement {
  const root = frame(title);
  const max = Math.max(1e-12, ...values);
  const yOf = (v: number) => H - B - ((H - B - T) * v) / max;
  axes(root, [[0, "0"], [max / 2, fmt(max / 2)], [max, fmt(max)]], yLabel, yOf);
  const step = (W - R - L) / values.length;
  values.forEach((v, c) => {
    const y = yOf(v);
    root.append(hoverable(
      svg("rect", {
        x: L + c * step + step * 0.1,
        y,
        width: Math.max(1, step * 0.8),
        height: Math.max(0, H - B - y),
        fill: GROUP_COLOURS[groups[c]] ?? "#888",
      }),
      c,
      onHover,
    ));
  });
  return root;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * Per-class accuracy (0..1) against training count on a log axis.
 *
 * @param counts Training images per class.
 * @param accuracy Test accuracy per class (null: no test rows).
 * @param groups Shot group of each class.
 * @param title Accessible title.
 * @param onHover Hover callback.
 */
export function accuracyScatter(
  counts: readonly number[],
  accuracy: readonly (number | null)[],
  groups: readonly string[],
  title: string,
  onHover: Hover,
): SVGElement {
  const root = frame(title);
  const yOf = (v: number) => H - B - (H - B - T) * v;
  axes(root, [[0, "0%"], [0.5, "50%"], [1, "100%"]], "training images per class (log scale)", yOf);
  const logs = counts.map((n) => Math.log10(Math.max(1, n)));
  const lo = Math.min(...logs), hi = Math.max(...logs, lo + 1e-9);
  const xOf = (v: number) => L + 10 + ((W - R - L - 20) * (v - lo)) / (hi - lo || 1);
  for (const v of [lo, hi]) {
    root.append(svg("text", {
      x: xOf(v),
      y: H - B + 12,
      "text-anchor": "middle",
      class: "tick",
    }, String(Math.round(10 ** v))));
  }
  accuracy.forEach((a, c) => {
    if (a === null) return;
    root.append(hoverable(
      svg("circle", {
        cx: xOf(logs[c]),
        cy: yOf(a),
        r: 4.5,
        fill: GROUP_COLOURS[groups[c]] ?? "#888",
      }),
      c,
      onHover,
    ));
  });
  return root;
}

/**
 * Validation balanced accuracy over tau, one line per method, and a marker at the slider.
 *
 * @param curves Method label and its curve.
 * @param tau The slider's tau.
 */
export function tauCurves(
  curves: { label: string; points: { tau: number; val_all: number }[]; colour: string }[],
  tau: number,
): SVGElement {
  const root = frame("validation balanced accuracy over tau");
  const all = curves.flatMap((c) => c.points);
  if (all.length === 0) return root;
  const lo = Math.min(...all.map((p) => p.val_all)), hi = Math.max(...all.map((p) => p.val_all));
  const pad = Math.max(0.01, (hi - lo) * 0.1);
  const y0 = lo - pad, y1 = hi + pad;
  const yOf = (v: number) => H - B - ((H - B - T) * (v - y0)) / (y1 - y0);
  const t0 = Math.min(...all.map((p) => p.tau)), t1 = Math.max(...all.map((p) => p.tau));
  const xOf = (t: number) => L + ((W - R - L) * (t - t0)) / (t1 - t0 || 1);
  axes(
    root,
    [[y0, `${(100 * y0).toFixed(1)}%`], [y1, `${(100 * y1).toFixed(1)}%`]],
    `tau (${t0} to ${t1})`,
    yOf,
  );
  for (const [i, curve] of curves.entries()) {
    const d = curve.points.map((p, i) => `${i ? "L" : "M"}${xOf(p.tau)},${yOf(p.val_all)}`);
    root.append(
      svg("path", { d: d.join(""), fill: "none", stroke: curve.colour, "stroke-width": 2 }),
    );
    root.append(svg("text", {
      x: L + 8,
      y: T + 12 + 14 * i,
      class: "tick",
      fill: curve.colour,
    }, curve.label));
  }
  root.append(svg("line", {
    x1: xOf(tau),
    y1: T,
    x2: xOf(tau),
    y2: H - B,
    class: "marker",
    "data-tau": tau,
  }));
  return root;
}

/**
 * The confusion matrix, each row normalised to its count, drawn on a canvas.
 *
 * @param confusion confusion[true][predicted].
 * @param onHover Called with (true, predicted) under the pointer, or null.
 */
export function confusionCanvas(
  confusion: readonly number[][],
  onHover: (cell: [number, number] | null, event: MouseEvent) => void,
): HTMLCanvasElement {
  const c = confusion.length;
  const cell = Math.max(3, Math.floor(360 / c));
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = cell * c;
  canvas.setAttribute("aria-label", "confusion matrix: rows are true classes, columns predictions");
  const g = canvas.getContext("2d")!;
  for (let i = 0; i < c; i++) {
    const total = confusion[i].reduce((a, b) => a + b, 0) || 1;
    for (let j = 0; j < c; j++) {
      const v = confusion[i][j] / total;
      const shade = Math.round(255 * (1 - v));
      g.fillStyle = i === j ? `rgb(${shade},${shade},255)` : `rgb(255,${shade},${shade})`;
      g.fillRect(j * cell, i * cell, cell, cell);
    }
  }
  canvas.addEventListener("mousemove", (e) => {
    const r = canvas.getBoundingClientRect();
    const j = Math.floor(((e.clientX - r.left) / r.width) * c);
    const i = Math.floor(((e.clientY - r.top) / r.height) * c);
    onHover(i >= 0 && i < c && j >= 0 && j < c ? [i, j] : null, e);
  });
  canvas.addEventListener("mouseleave", (e) => onHover(null, e));
  return canvas;
}
