/**
 * The experiment report of a training run: `report.md`, `report.html` (one self-contained page)
 * and SVG figures in `figures/`, all from one {@link RunReport}.
 *
 * The report is first laid out as a small document model ({@link ReportDocument}: sections of
 * paragraphs, tables, figures and code) that both the Markdown and the HTML writers render, so
 * the two files always say the same thing.
 *
 * @module
 */

import type { ShotThresholds } from "../data/profiles.ts";
import type { ShotGroup } from "../data/shot_groups.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { EpochRecord } from "../train/stage1.ts";
import {
  barChart,
  lineChart,
  type Marker,
  panelRow,
  reliabilityDiagram,
  type Series,
} from "./figures.ts";
import { renderHtml } from "./html.ts";
import { publishedBlocks, type PublishedProtocol } from "./published.ts";
import { type CalibrationMetrics, ECE_BINS, type MetricsFile } from "./metrics.ts";
import { methodRow } from "../stage2/registry.ts";

/**
 * Time spent in one stage of the run.
 *
 * @example
 * ```ts
 * import { formatSeconds, type StageTiming } from "./report.ts";
 * const timing: StageTiming = { stage: "stage 1", seconds: 612 };
 * console.log(`${timing.stage}: ${formatSeconds(timing.seconds)}`); // "stage 1: 10 min 12 s"
 * ```
 */
export interface StageTiming {
  /** E.g. "data", "stage 1", "features", "stage 2", "total". */
  stage: string;
  /** Wall time in seconds. */
  seconds: number;
}

/**
 * A validation curve over tau (tau-norm, logit adjustment).
 *
 * @example
 * ```ts
 * import type { TauCurve } from "./report.ts";
 * const curve: TauCurve = { tau: [0, 0.5, 1], valAccuracy: [0.6, 0.66, 0.64] };
 * console.log(curve.tau[curve.valAccuracy.indexOf(Math.max(...curve.valAccuracy))]); // 0.5
 * ```
 */
export interface TauCurve {
  /** The taus of the sweep, ascending. */
  tau: number[];
  /** Validation "All" (mean per-class accuracy) in [0, 1] at each tau. */
  valAccuracy: number[];
}

/**
 * Results of one stage-2 method. Accuracies are test accuracies in [0, 1].
 *
 * @example
 * ```ts
 * import { formatPercent, type MethodReport } from "./report.ts";
 * const crt: MethodReport = {
 *   name: "crt",
 *   label: "cRT",
 *   all: 0.7512,
 *   many: 0.9,
 *   medium: 0.75,
 *   few: 0.55,
 *   perClass: [0.9, 0.75, 0.55],
 *   weightNorms: [1.1, 1.05, 1],
 *   chosenTau: null,
 *   tauCurve: null,
 *   seconds: 1.5,
 * };
 * console.log(formatPercent(crt.all)); // "75.12"
 * ```
 */
export interface MethodReport {
  /** Key of the stage-2 method table (lib/stage2/registry.ts); others get spare colours. */
  name: string;
  /** Display name, e.g. "cRT" or "τ-norm (τ=0.9)". */
  label: string;
  /** Mean of per-class accuracies. */
  all: number;
  /** Mean per-class accuracy of each shot group; null when the group has no class. */
  many: number | null;
  /** Mean per-class accuracy of the Medium-shot classes, or null. */
  medium: number | null;
  /** Mean per-class accuracy of the Few-shot classes, or null. */
  few: number | null;
  /** Accuracy of each class, (C); null for a class without test images. */
  perClass: (number | null)[];
  /** ||w_c|| of the effective classifier, (C); null when the method has none. */
  weightNorms: number[] | null;
  /** Tau chosen on validation, or null. */
  chosenTau: number | null;
  /** Validation curve over tau, or null when the method has no tau. */
  tauCurve: TauCurve | null;
  /** Wall time of the method. */
  seconds: number;
  /** Test-split calibration (ECE, NLL, per shot group, reliability bins); absent when unknown. */
  calibration?: CalibrationMetrics | null;
}

/**
 * Everything the report shows.
 *
 * @example
 * ```ts
 * import { buildReportDocument, type RunReport } from "./report.ts";
 * const report: RunReport = {
 *   name: "example",
 *   createdAt: "2025-01-01T12:00:00Z",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: { seed: 0 },
 *   timings: [{ stage: "total", seconds: 42 }],
 *   stage1History: [{
 *     epoch: 1,
 *     loss: 1.1,
 *     accuracy: 0.6,
 *     lr: 0.05,
 *     seconds: 20,
 *     imagesPerSecond: 400,
 *   }],
 *   classes: ["shirt", "bag", "boot"],
 *   trainCounts: [500, 50, 5],
 *   groups: ["many", "medium", "few"],
 *   thresholds: { many: 100, few: 20 },
 *   methods: [{
 *     name: "tau",
 *     label: "τ-norm (τ=1.0)",
 *     all: 0.7,
 *     many: 0.9,
 *     medium: 0.7,
 *     few: 0.5,
 *     perClass: [0.9, 0.7, 0.5],
 *     weightNorms: [1, 1, 1],
 *     chosenTau: 1,
 *     tauCurve: { tau: [0, 1, 2], valAccuracy: [0.6, 0.7, 0.65] },
 *     seconds: 0.2,
 *   }],
 * };
 * console.log(buildReportDocument(report).title.includes("example")); // true
 * ```
 */
export interface RunReport {
  /** Run name (the folder under runs/). */
  name: string;
  /** ISO 8601 time the run finished. */
  createdAt: string;
  /** The WebGPU adapter, saying whether it is a software fallback. */
  adapter: string;
  /** Preset name (smoke, cpu, paper). */
  preset: string;
  /** Why this preset was used (e.g. "software adapter: the paper preset would take 9 h"). */
  presetReason: string;
  /** The resolved configuration (any JSON value). */
  config: unknown;
  /** Wall time of each stage, in the order shown (a "total" row included by the caller). */
  timings: StageTiming[];
  /** One record per stage-1 epoch. */
  stage1History: EpochRecord[];
  /** Class names, (C). */
  classes: string[];
  /** Training images per class, (C). */
  trainCounts: number[];
  /** Shot group of each class, (C). */
  groups: ShotGroup[];
  /** The thresholds the groups come from (Many > many, Few < few). */
  thresholds: ShotThresholds;
  /** Stage-2 methods, in the order they are reported. */
  methods: MethodReport[];
  /** Free-form remarks, one list item each. */
  notes?: string[];
  /** The published protocol the run follows, shown beside its figures; absent when none. */
  published?: PublishedProtocol | null;
}

/**
 * One cell of a table.
 *
 * @example
 * ```ts
 * import type { ReportCell } from "./report.ts";
 * const best: ReportCell = { text: "75.12", bold: true };
 * console.log(best.bold ? `**${best.text}**` : best.text); // "**75.12**"
 * ```
 */
export interface ReportCell {
  /** The cell's text, plain (each writer escapes it). */
  text: string;
  /** Best value of its column. */
  bold?: boolean;
}

/**
 * A table: header, alignment per column and rows of cells.
 *
 * @example
 * ```ts
 * import { renderMarkdown, type ReportTable } from "./report.ts";
 * const table: ReportTable = {
 *   header: ["method", "All"],
 *   align: ["left", "right"],
 *   rows: [[{ text: "Joint" }, { text: "61.30" }], [{ text: "cRT" }, {
 *     text: "75.12",
 *     bold: true,
 *   }]],
 * };
 * const markdown = renderMarkdown({
 *   title: "Tables",
 *   sections: [{ id: "t", heading: "Results", blocks: [{ kind: "table", table }] }],
 *   figures: [],
 * });
 * console.log(markdown.includes("| cRT | **75.12** |")); // true
 * ```
 */
export interface ReportTable {
  /** Column titles. */
  header: string[];
  /** Alignment of each column (numbers right). */
  align: ("left" | "right")[];
  /** Rows of cells, one per column. */
  rows: ReportCell[][];
}

/**
 * A figure: its SVG and where the Markdown links it.
 *
 * @example
 * ```ts
 * import { type ReportFigure, reportFigures, type RunReport } from "./report.ts";
 * const report: RunReport = {
 *   name: "example",
 *   createdAt: "2025-01-01T12:00:00Z",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: { seed: 0 },
 *   timings: [{ stage: "total", seconds: 42 }],
 *   stage1History: [{
 *     epoch: 1,
 *     loss: 1.1,
 *     accuracy: 0.6,
 *     lr: 0.05,
 *     seconds: 20,
 *     imagesPerSecond: 400,
 *   }],
 *   classes: ["shirt", "bag", "boot"],
 *   trainCounts: [500, 50, 5],
 *   groups: ["many", "medium", "few"],
 *   thresholds: { many: 100, few: 20 },
 *   methods: [{
 *     name: "tau",
 *     label: "τ-norm (τ=1.0)",
 *     all: 0.7,
 *     many: 0.9,
 *     medium: 0.7,
 *     few: 0.5,
 *     perClass: [0.9, 0.7, 0.5],
 *     weightNorms: [1, 1, 1],
 *     chosenTau: 1,
 *     tauCurve: { tau: [0, 1, 2], valAccuracy: [0.6, 0.7, 0.65] },
 *     seconds: 0.2,
 *   }],
 * };
 * const figures: ReportFigure[] = reportFigures(report);
 * console.log(figures.map((f) => f.file)[0], figures[0].number);
 * // "figures/accuracy_by_group.svg" 1
 * ```
 */
export interface ReportFigure {
  /** Stable id, also the file stem (e.g. "weight_norms"). */
  id: string;
  /** Path relative to the report (figures/<id>.svg). */
  file: string;
  /** Figure number in the report, from 1. */
  number: number;
  /** Short title (the alt text in Markdown). */
  title: string;
  /** One or two sentences under the figure. */
  caption: string;
  /** The standalone SVG document. */
  svg: string;
}

/**
 * Content blocks of a section.
 *
 * @example
 * ```ts
 * import { type ReportBlock, renderMarkdown } from "./report.ts";
 * const blocks: ReportBlock[] = [
 *   { kind: "paragraph", text: "Stage 2 ran every method." },
 *   { kind: "facts", items: [["adapter", "llvmpipe"], ["preset", "cpu"]] },
 *   { kind: "list", items: ["first note", "second note"] },
 *   { kind: "code", summary: "Configuration", language: "json", text: "{}" },
 * ];
 * const markdown = renderMarkdown({
 *   title: "Blocks",
 *   sections: [{ id: "b", heading: "Blocks", blocks }],
 *   figures: [],
 * });
 * console.log(markdown.includes("- first note")); // true
 * ```
 */
export type ReportBlock =
  | { kind: "paragraph"; text: string }
  | { kind: "facts"; items: [string, string][] }
  | { kind: "list"; items: string[] }
  | { kind: "table"; table: ReportTable }
  | { kind: "figure"; figure: ReportFigure }
  | { kind: "code"; summary: string; language: string; text: string };

/**
 * A titled section.
 *
 * @example
 * ```ts
 * import { renderMarkdown, type ReportSection } from "./report.ts";
 * const section: ReportSection = {
 *   id: "notes",
 *   heading: "Notes",
 *   blocks: [{ kind: "paragraph", text: "Nothing unusual." }],
 * };
 * console.log(
 *   renderMarkdown({ title: "Run", sections: [section], figures: [] }).includes("## Notes"),
 * ); // true
 * ```
 */
export interface ReportSection {
  /** Anchor id. */
  id: string;
  /** Section title. */
  heading: string;
  /** Content, in order. */
  blocks: ReportBlock[];
}

/**
 * The laid-out report that the Markdown and HTML writers render.
 *
 * @example
 * ```ts
 * import { buildReportDocument, type ReportDocument, type RunReport } from "./report.ts";
 * const report: RunReport = {
 *   name: "example",
 *   createdAt: "2025-01-01T12:00:00Z",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: { seed: 0 },
 *   timings: [{ stage: "total", seconds: 42 }],
 *   stage1History: [{
 *     epoch: 1,
 *     loss: 1.1,
 *     accuracy: 0.6,
 *     lr: 0.05,
 *     seconds: 20,
 *     imagesPerSecond: 400,
 *   }],
 *   classes: ["shirt", "bag", "boot"],
 *   trainCounts: [500, 50, 5],
 *   groups: ["many", "medium", "few"],
 *   thresholds: { many: 100, few: 20 },
 *   methods: [{
 *     name: "tau",
 *     label: "τ-norm (τ=1.0)",
 *     all: 0.7,
 *     many: 0.9,
 *     medium: 0.7,
 *     few: 0.5,
 *     perClass: [0.9, 0.7, 0.5],
 *     weightNorms: [1, 1, 1],
 *     chosenTau: 1,
 *     tauCurve: { tau: [0, 1, 2], valAccuracy: [0.6, 0.7, 0.65] },
 *     seconds: 0.2,
 *   }],
 * };
 * const doc: ReportDocument = buildReportDocument(report);
 * console.log(
 *   doc.sections.length > 0,
 *   doc.figures.length === doc.figures.filter((f) => f.svg).length,
 * ); // true true
 * ```
 */
export interface ReportDocument {
  /** Page title. */
  title: string;
  /** Sections, in order. */
  sections: ReportSection[];
  /** Every figure of the sections, in order. */
  figures: ReportFigure[];
}

/**
 * Paths written by {@link writeReport}.
 *
 * @example
 * ```ts
 * import { type ReportFiles, type RunReport, writeReport } from "./report.ts";
 * const report: RunReport = {
 *   name: "example",
 *   createdAt: "2025-01-01T12:00:00Z",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: { seed: 0 },
 *   timings: [{ stage: "total", seconds: 42 }],
 *   stage1History: [{
 *     epoch: 1,
 *     loss: 1.1,
 *     accuracy: 0.6,
 *     lr: 0.05,
 *     seconds: 20,
 *     imagesPerSecond: 400,
 *   }],
 *   classes: ["shirt", "bag", "boot"],
 *   trainCounts: [500, 50, 5],
 *   groups: ["many", "medium", "few"],
 *   thresholds: { many: 100, few: 20 },
 *   methods: [{
 *     name: "tau",
 *     label: "τ-norm (τ=1.0)",
 *     all: 0.7,
 *     many: 0.9,
 *     medium: 0.7,
 *     few: 0.5,
 *     perClass: [0.9, 0.7, 0.5],
 *     weightNorms: [1, 1, 1],
 *     chosenTau: 1,
 *     tauCurve: { tau: [0, 1, 2], valAccuracy: [0.6, 0.7, 0.65] },
 *     seconds: 0.2,
 *   }],
 * };
 * const dir = await Deno.makeTempDir();
 * const files: ReportFiles = await writeReport(dir, report);
 * console.log(files.markdown.endsWith("report.md"), files.figures.length > 0); // true true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface ReportFiles {
  /** Path of report.md. */
  markdown: string;
  /** Path of report.html. */
  html: string;
  /** Paths of the SVG files written. */
  figures: string[];
}

/**
 * Every figure file the report may write; the ones a run does not produce are removed.
 *
 * @example
 * ```ts
 * import { FIGURE_IDS } from "./report.ts";
 * console.log(FIGURE_IDS.map((id) => `figures/${id}.svg`)[0]); // "figures/accuracy_by_group.svg"
 * ```
 */
export const FIGURE_IDS: readonly string[] = Object.freeze([
  "accuracy_by_group",
  "tau_curves",
  "accuracy_vs_count",
  "weight_norms",
  "reliability",
  "stage1",
]);

// A method's colour and dash come from its row in the stage-2 method table, so they are the same
// in every figure; a method outside the table gets a spare colour.
const SPARE = ["#882255", "#117733", "#332288", "#AA4499"];

function styleOf(name: string, index: number): { color: string; dash?: string } {
  const style = methodRow(name)?.style;
  return style
    ? { color: style.color, dash: style.dash }
    : { color: SPARE[index % SPARE.length], dash: "4 2" };
}

const GROUP_TITLES: Record<ShotGroup, string> = { many: "Many", medium: "Medium", few: "Few" };

/**
 * Checks that every per-class list has one entry per class and that curves are consistent.
 *
 * @throws {RangeError} Naming the field and both lengths.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkRunReport, type RunReport } from "./report.ts";
 * const report: RunReport = {
 *   name: "example",
 *   createdAt: "2025-01-01T12:00:00Z",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: { seed: 0 },
 *   timings: [{ stage: "total", seconds: 42 }],
 *   stage1History: [{
 *     epoch: 1,
 *     loss: 1.1,
 *     accuracy: 0.6,
 *     lr: 0.05,
 *     seconds: 20,
 *     imagesPerSecond: 400,
 *   }],
 *   classes: ["shirt", "bag", "boot"],
 *   trainCounts: [500, 50, 5],
 *   groups: ["many", "medium", "few"],
 *   thresholds: { many: 100, few: 20 },
 *   methods: [{
 *     name: "tau",
 *     label: "τ-norm (τ=1.0)",
 *     all: 0.7,
 *     many: 0.9,
 *     medium: 0.7,
 *     few: 0.5,
 *     perClass: [0.9, 0.7, 0.5],
 *     weightNorms: [1, 1, 1],
 *     chosenTau: 1,
 *     tauCurve: { tau: [0, 1, 2], valAccuracy: [0.6, 0.7, 0.65] },
 *     seconds: 0.2,
 *   }],
 * };
 * checkRunReport(report); // fine
 * const broken = { ...report, trainCounts: [500, 50] };
 * assert.throws(() => checkRunReport(broken), /trainCounts has 2 entries for 3 classes/);
 * ```
 */
export function checkRunReport(report: RunReport): void {
  const c = report.classes.length;
  const fail = (what: string, n: number): never => {
    throw new RangeError(`Cannot write the report: ${what} has ${n} entries for ${c} classes`);
  };
  if (report.trainCounts.length !== c) fail("trainCounts", report.trainCounts.length);
  if (report.groups.length !== c) fail("groups", report.groups.length);
  for (const m of report.methods) {
    if (m.perClass.length !== c) fail(`method ${m.label}'s perClass`, m.perClass.length);
    if (m.weightNorms && m.weightNorms.length !== c) {
      fail(`method ${m.label}'s weightNorms`, m.weightNorms.length);
    }
    if (m.tauCurve && m.tauCurve.tau.length !== m.tauCurve.valAccuracy.length) {
      throw new RangeError(
        `Cannot write the report: method ${m.label}'s tau curve has ${m.tauCurve.tau.length} ` +
          `taus but ${m.tauCurve.valAccuracy.length} accuracies`,
      );
    }
  }
}

/**
 * Tau as on the grid ("0.9", "1.0"), more digits only when it is off the 0.1 grid.
 *
 * @example
 * ```ts
 * import { formatTau } from "./report.ts";
 * console.log(formatTau(1), formatTau(0.25)); // 1.0 0.25
 * ```
 */
export function formatTau(tau: number): string {
  return Math.abs(tau * 10 - Math.round(tau * 10)) < 1e-9 ? tau.toFixed(1) : String(tau);
}

/**
 * A fraction as a percentage with two decimals, or "–" for a missing value.
 *
 * @example
 * ```ts
 * import { formatPercent } from "./report.ts";
 * console.log(formatPercent(0.8512), formatPercent(null), formatPercent(NaN)); // 85.12 – –
 * ```
 */
export function formatPercent(v: number | null | undefined): string {
  return typeof v === "number" && Number.isFinite(v) ? (100 * v).toFixed(2) : "–";
}

/**
 * Seconds as `12.3 s`, `3 min 05 s` or `1 h 02 min`.
 *
 * @example
 * ```ts
 * import { formatSeconds } from "./report.ts";
 * console.log(formatSeconds(3.25), formatSeconds(125)); // 3.3 s 2 min 05 s
 * ```
 */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "–";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

function percentOrNull(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? 100 * v : null;
}

/** Cells of a column of percentages, the best (at the shown precision) in bold. */
function percentColumn(values: (number | null)[]): ReportCell[] {
  return boldBest(values.map(formatPercent), false);
}

/** Cells of shown numbers ("–" for none), the highest (or lowest) in bold. */
function boldBest(shown: string[], lowest: boolean): ReportCell[] {
  const numbers = shown.filter((t) => t !== "–").map(Number);
  const best = numbers.length === 0 ? NaN : lowest ? Math.min(...numbers) : Math.max(...numbers);
  return shown.map((text) => ({ text, bold: text !== "–" && Number(text) === best }));
}

function groupSentence(report: RunReport): string {
  const { many, few } = report.thresholds;
  const size = (g: ShotGroup) => report.groups.filter((x) => x === g).length;
  return `Shot groups by training images per class: Many > ${many} (${size("many")} classes), ` +
    `Medium ${few}..${many} (${size("medium")}), Few < ${few} (${size("few")}).`;
}

function summarySentence(report: RunReport): string | null {
  const scored = report.methods.filter((m) => Number.isFinite(m.all));
  if (scored.length === 0) return null;
  const best = scored.reduce((a, b) => (b.all > a.all ? b : a));
  const joint = scored.find((m) => m.name === "joint");
  let text = `Best on All: ${best.label} with ${formatPercent(best.all)}%`;
  if (joint && joint !== best) {
    const d = (a: number | null, b: number | null) =>
      typeof a === "number" && typeof b === "number" && Number.isFinite(a - b)
        ? `${a >= b ? "+" : ""}${(100 * (a - b)).toFixed(2)}`
        : "–";
    text += `, ${d(best.all, joint.all)} points over Joint on All and ${d(best.few, joint.few)} ` +
      `on Few`;
  }
  return text + ".";
}

/** Classes ordered by training count, largest first (ties by index). */
function headToTail(report: RunReport): number[] {
  return report.classes.map((_, c) => c).sort((a, b) =>
    report.trainCounts[b] - report.trainCounts[a] || a - b
  );
}

function tauAt(curve: TauCurve, tau: number): number | null {
  const i = curve.tau.findIndex((t) => Math.abs(t - tau) < 1e-9);
  return i === -1 ? null : 100 * curve.valAccuracy[i];
}

/**
 * Draws the report's figures; a figure without data (no stage-1 history, no tau sweep...) is
 * left out.
 *
 * @param report The run.
 * @returns The figures, numbered in report order.
 * @example
 * ```ts
 * import { reportFigures, type RunReport } from "./report.ts";
 * const report: RunReport = {
 *   name: "example",
 *   createdAt: "2025-01-01T12:00:00Z",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: { seed: 0 },
 *   timings: [{ stage: "total", seconds: 42 }],
 *   stage1History: [{
 *     epoch: 1,
 *     loss: 1.1,
 *     accuracy: 0.6,
 *     lr: 0.05,
 *     seconds: 20,
 *     imagesPerSecond: 400,
 *   }],
 *   classes: ["shirt", "bag", "boot"],
 *   trainCounts: [500, 50, 5],
 *   groups: ["many", "medium", "few"],
 *   thresholds: { many: 100, few: 20 },
 *   methods: [{
 *     name: "tau",
 *     label: "τ-norm (τ=1.0)",
 *     all: 0.7,
 *     many: 0.9,
 *     medium: 0.7,
 *     few: 0.5,
 *     perClass: [0.9, 0.7, 0.5],
 *     weightNorms: [1, 1, 1],
 *     chosenTau: 1,
 *     tauCurve: { tau: [0, 1, 2], valAccuracy: [0.6, 0.7, 0.65] },
 *     seconds: 0.2,
 *   }],
 * };
 * for (const f of reportFigures(report)) console.log(f.number, f.file);
 *
 * // 1 "figures/accuracy_by_group.svg"
 * // 2 "figures/tau_curves.svg"
 * // 3 "figures/accuracy_vs_count.svg"
 * // 4 "figures/weight_norms.svg"
 * // 5 "figures/stage1.svg"
 * ```
 */
export function reportFigures(report: RunReport): ReportFigure[] {
  const figures: Omit<ReportFigure, "number" | "file">[] = [];
  const methods = report.methods;
  const styled = methods.map((m, i) => ({ m, style: styleOf(m.name, i) }));
  if (methods.length > 0) {
    const groups = (["many", "medium", "few"] as const).filter((g) =>
      methods.some((m) => m[g] !== null)
    );
    figures.push({
      id: "accuracy_by_group",
      title: "Test accuracy by shot group",
      caption: "Test accuracy (%) of every method: All (mean of per-class accuracies) and the " +
        "Many / Medium / Few shot groups.",
      svg: barChart({
        title: "Test accuracy by shot group",
        xLabel: "shot group",
        yLabel: "test accuracy (%)",
        yCap: 100,
        categories: ["All", ...groups.map((g) => GROUP_TITLES[g])],
        series: styled.map(({ m, style }) => ({
          label: m.label,
          color: style.color,
          values: [percentOrNull(m.all), ...groups.map((g) => percentOrNull(m[g]))],
        })),
      }),
    });
  }
  const swept = styled.filter(({ m }) => m.tauCurve !== null);
  if (swept.length > 0) {
    const markers: Marker[] = swept.filter(({ m }) => m.chosenTau !== null).map(({ m, style }) => ({
      x: m.chosenTau!,
      y: tauAt(m.tauCurve!, m.chosenTau!),
      label: `${m.label.replace(/\s*\(τ=[^)]*\)$/, "")}: τ = ${formatTau(m.chosenTau!)}`,
      color: style.color,
    }));
    figures.push({
      id: "tau_curves",
      title: "Validation accuracy against τ",
      caption: "Validation accuracy (All, %) over the τ sweep; rings mark the τ chosen on " +
        "validation and used on test (ties go to the smallest τ).",
      svg: lineChart({
        title: "Validation accuracy against τ",
        xLabel: "τ",
        yLabel: "validation accuracy, All (%)",
        yCap: 100,
        series: swept.map(({ m, style }) => ({
          label: m.label,
          color: style.color,
          dash: style.dash,
          x: m.tauCurve!.tau,
          y: m.tauCurve!.valAccuracy.map(percentOrNull),
        })),
        markers,
      }),
    });
  }
  if (methods.length > 0) {
    const order = headToTail(report).reverse();
    const t = report.thresholds;
    figures.push({
      id: "accuracy_vs_count",
      title: "Per-class test accuracy against training images",
      caption: "Test accuracy of each class against its number of training images (log scale); " +
        "dashed lines are the shot-group thresholds.",
      svg: lineChart({
        title: "Per-class test accuracy against training images",
        xLabel: "training images of the class (log scale)",
        yLabel: "test accuracy (%)",
        yCap: 100,
        xScale: "log",
        series: styled.map(({ m, style }): Series => ({
          label: m.label,
          color: style.color,
          dash: style.dash,
          x: order.map((c) => report.trainCounts[c]),
          y: order.map((c) => percentOrNull(m.perClass[c])),
        })),
        markers: [
          { x: t.many, label: `Many > ${t.many}`, color: "#777777", anchor: "start" },
          { x: t.few, label: `Few < ${t.few}`, color: "#777777", anchor: "end" },
        ],
      }),
    });
  }
  const normed = styled.filter(({ m }) =>
    methodRow(m.name)?.weightNorms === true && m.weightNorms !== null
  );
  if (normed.length > 0) {
    const order = headToTail(report);
    const frame = {
      title: "Classifier weight norm per class",
      xLabel: "class, sorted by training images (head → tail)",
      yLabel: "‖w_c‖",
    };
    const svg = order.length <= 40
      ? barChart({
        ...frame,
        categories: order.map((c) => report.classes[c]),
        series: normed.map(({ m, style }) => ({
          label: m.label,
          color: style.color,
          values: order.map((c) => m.weightNorms![c]),
        })),
      })
      : lineChart({
        ...frame,
        xLabel: "class rank by training images (0 = head)",
        yInclude: [0],
        series: normed.map(({ m, style }) => ({
          label: m.label,
          color: style.color,
          dash: style.dash,
          style: "line",
          x: order.map((_, r) => r),
          y: order.map((c) => m.weightNorms![c]),
        })),
      });
    figures.push({
      id: "weight_norms",
      title: frame.title,
      caption: "Norm of each class's effective classifier weights (LWS: scale times norm), " +
        "classes from head to tail. In the paper, joint training's norms follow the class " +
        "sizes and cRT, τ-norm and LWS make them more even.",
      svg,
    });
  }
  const calibrated = styled.filter(({ m }) => m.calibration);
  if (calibrated.length > 0) {
    const title = "Reliability diagram (test set)";
    figures.push({
      id: "reliability",
      title,
      caption: `Accuracy against mean top-1 confidence in each of ${ECE_BINS} equal-width ` +
        "confidence bins (empty bins are gaps). Points under the diagonal are over-confident.",
      svg: reliabilityDiagram(
        title,
        calibrated.map(({ m, style }) => ({
          label: m.label,
          color: style.color,
          dash: style.dash,
          confidence: m.calibration!.bins.confidence,
          accuracy: m.calibration!.bins.accuracy,
        })),
      ),
    });
  }
  const h = report.stage1History;
  if (h.length > 0) {
    const epochs = h.map((r) => r.epoch);
    const panel = { xLabel: "epoch", xInteger: true, legend: false, width: 380, height: 340 };
    figures.push({
      id: "stage1",
      title: "Stage 1: training loss and accuracy by epoch",
      caption: "Mean training loss and training accuracy (augmented batches) of each stage-1 " +
        "epoch.",
      svg: panelRow("Stage 1: training loss and accuracy by epoch", [
        lineChart({
          ...panel,
          title: "Training loss",
          yLabel: "loss",
          series: [{ label: "loss", x: epochs, y: h.map((r) => r.loss), color: "#0072B2" }],
        }),
        lineChart({
          ...panel,
          title: "Training accuracy",
          yLabel: "accuracy (%)",
          yCap: 100,
          series: [{
            label: "accuracy",
            x: epochs,
            y: h.map((r) => percentOrNull(r.accuracy)),
            color: "#D55E00",
          }],
        }),
      ]),
    });
  }
  return figures.map((f, i) => ({ ...f, number: i + 1, file: `figures/${f.id}.svg` }));
}

function classesFact(report: RunReport): string {
  const n = report.trainCounts;
  if (n.length === 0) return "none";
  return `${n.length}, ${n.reduce((a, b) => a + b, 0)} training images ` +
    `(${Math.max(...n)} to ${Math.min(...n)} per class, ratio ` +
    `${(Math.max(...n) / Math.max(1, Math.min(...n))).toFixed(1)})`;
}

function figureBlock(figures: ReportFigure[], id: string): ReportBlock[] {
  const f = figures.find((x) => x.id === id);
  return f ? [{ kind: "figure", figure: f }] : [];
}

function fixed(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : "–";
}

/**
 * Lays the report out: sections with their paragraphs, tables, figures and the configuration.
 *
 * @param report The run.
 * @returns The document that {@link renderMarkdown} and renderHtml (html.ts) render.
 * @example
 * ```ts
 * import { buildReportDocument, type RunReport } from "./report.ts";
 * const report: RunReport = {
 *   name: "example",
 *   createdAt: "2025-01-01T12:00:00Z",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: { seed: 0 },
 *   timings: [{ stage: "total", seconds: 42 }],
 *   stage1History: [{
 *     epoch: 1,
 *     loss: 1.1,
 *     accuracy: 0.6,
 *     lr: 0.05,
 *     seconds: 20,
 *     imagesPerSecond: 400,
 *   }],
 *   classes: ["shirt", "bag", "boot"],
 *   trainCounts: [500, 50, 5],
 *   groups: ["many", "medium", "few"],
 *   thresholds: { many: 100, few: 20 },
 *   methods: [{
 *     name: "tau",
 *     label: "τ-norm (τ=1.0)",
 *     all: 0.7,
 *     many: 0.9,
 *     medium: 0.7,
 *     few: 0.5,
 *     perClass: [0.9, 0.7, 0.5],
 *     weightNorms: [1, 1, 1],
 *     chosenTau: 1,
 *     tauCurve: { tau: [0, 1, 2], valAccuracy: [0.6, 0.7, 0.65] },
 *     seconds: 0.2,
 *   }],
 * };
 * const doc = buildReportDocument(report);
 * console.log(doc.sections.map((s) => s.heading));
 * // ["What ran", "Results", "Per-class test accuracy", "Stage 1", "Timings", "Configuration"]
 * ```
 */
export function buildReportDocument(report: RunReport): ReportDocument {
  checkRunReport(report);
  const figures = reportFigures(report);
  const methods = report.methods;
  const sections: ReportSection[] = [];
  sections.push({
    id: "what-ran",
    heading: "What ran",
    blocks: [{
      kind: "facts",
      items: [
        ["Preset", `${report.preset} (${report.presetReason})`],
        ["Adapter", report.adapter],
        ["Finished", report.createdAt],
        ["Classes", classesFact(report)],
        ["Methods", methods.map((m) => m.label).join(", ") || "none"],
      ],
    }],
  });
  const results: ReportBlock[] = [{
    kind: "paragraph",
    text: "Test accuracy (%) on the balanced test set; All is the mean of per-class " +
      `accuracies. ${groupSentence(report)} τ is chosen on the validation set. The best value ` +
      "of each column is in bold.",
  }];
  const summary = summarySentence(report);
  if (summary) results.push({ kind: "paragraph", text: summary });
  if (methods.length > 0) {
    const cols = (["all", "many", "medium", "few"] as const).map((k) =>
      percentColumn(methods.map((m) => m[k]))
    );
    results.push({
      kind: "table",
      table: {
        header: ["Method", "All", "Many", "Medium", "Few", "chosen τ", "Time"],
        align: ["left", "right", "right", "right", "right", "right", "right"],
        rows: methods.map((m, i) => [
          { text: m.label },
          ...cols.map((col) => col[i]),
          { text: m.chosenTau === null ? "–" : formatTau(m.chosenTau) },
          { text: formatSeconds(m.seconds) },
        ]),
      },
    });
  } else {
    results.push({ kind: "paragraph", text: "No stage-2 method ran." });
  }
  results.push(...figureBlock(figures, "accuracy_by_group"), ...figureBlock(figures, "tau_curves"));
  sections.push({ id: "results", heading: "Results", blocks: results });
  if (report.published) {
    sections.push({
      id: "published",
      heading: "Published figures",
      blocks: publishedBlocks(report.published, methods, "this run"),
    });
  }

  sections.push({
    id: "per-class",
    heading: "Per-class test accuracy",
    blocks: [
      {
        kind: "table",
        table: {
          header: ["Class", "Train images", "Group", ...methods.map((m) => m.label)],
          align: ["left", "right", "left", ...methods.map(() => "right" as const)],
          rows: report.classes.map((name, c) => [
            { text: `${c} ${name}` },
            { text: String(report.trainCounts[c]) },
            { text: GROUP_TITLES[report.groups[c]] ?? String(report.groups[c]) },
            ...methods.map((m) => ({ text: formatPercent(m.perClass[c]) })),
          ]),
        },
      },
      ...figureBlock(figures, "accuracy_vs_count"),
      ...figureBlock(figures, "weight_norms"),
    ],
  });

  const calibrated = methods.filter((m) => m.calibration);
  if (calibrated.length > 0) {
    const groups = (["many", "medium", "few"] as const).filter((g) =>
      calibrated.some((m) => m.calibration![g] !== null)
    );
    const ece = (g: "all" | ShotGroup) =>
      boldBest(
        calibrated.map((m) => {
          const c = g === "all" ? m.calibration! : m.calibration![g];
          return c ? formatPercent(c.ece) : "–";
        }),
        true,
      );
    const nll = (g: "all" | ShotGroup) =>
      boldBest(
        calibrated.map((m) => {
          const c = g === "all" ? m.calibration! : m.calibration![g];
          return c ? fixed(c.nll, 3) : "–";
        }),
        true,
      );
    const keys = ["all", ...groups] as const;
    const columns = [...keys.map(ece), ...keys.map(nll)];
    const titles = keys.map((g) => (g === "all" ? "All" : GROUP_TITLES[g]));
    sections.push({
      id: "calibration",
      heading: "Calibration",
      blocks: [
        {
          kind: "paragraph",
          text: `Expected calibration error (ECE, %) and negative log-likelihood (NLL, nats per ` +
            `image) of the softmax of each method's test logits, over all test images and over ` +
            `the images of each shot group's classes. ECE uses ${ECE_BINS} equal-width bins of ` +
            `the top-1 confidence, bin b holding (b/${ECE_BINS}, (b+1)/${ECE_BINS}]; NCM's ` +
            "scores (cosines, negative distances) enter the softmax as they are. Lower is " +
            "better; the best of each column is in bold.",
        },
        {
          kind: "table",
          table: {
            header: [
              "Method",
              ...titles.map((t) => `ECE ${t}`),
              ...titles.map((t) => `NLL ${t}`),
            ],
            align: ["left", ...columns.map(() => "right" as const)],
            rows: calibrated.map((m, i) => [{ text: m.label }, ...columns.map((col) => col[i])]),
          },
        },
        ...figureBlock(figures, "reliability"),
      ],
    });
  }

  const h = report.stage1History;
  sections.push({
    id: "stage-1",
    heading: "Stage 1",
    blocks: h.length === 0 ? [{ kind: "paragraph", text: "No stage-1 epochs were recorded." }] : [
      {
        kind: "table",
        table: {
          header: ["Epoch", "Loss", "Accuracy (%)", "LR", "Time", "Images/s"],
          align: ["right", "right", "right", "right", "right", "right"],
          rows: h.map((r) => [
            { text: String(r.epoch) },
            { text: fixed(r.loss, 4) },
            { text: formatPercent(r.accuracy) },
            { text: Number.isFinite(r.lr) ? String(Number(r.lr.toPrecision(3))) : "–" },
            { text: formatSeconds(r.seconds) },
            { text: fixed(r.imagesPerSecond, 0) },
          ]),
        },
      },
      ...figureBlock(figures, "stage1"),
    ],
  });

  sections.push({
    id: "timings",
    heading: "Timings",
    blocks: [{
      kind: "table",
      table: {
        header: ["Stage", "Seconds", "Duration"],
        align: ["left", "right", "right"],
        rows: report.timings.map((t) => [
          { text: t.stage },
          { text: fixed(t.seconds, 1) },
          { text: formatSeconds(t.seconds) },
        ]),
      },
    }],
  });
  if (report.notes && report.notes.length > 0) {
    sections.push({
      id: "notes",
      heading: "Notes",
      blocks: [{ kind: "list", items: report.notes }],
    });
  }
  sections.push({
    id: "configuration",
    heading: "Configuration",
    blocks: [{
      kind: "code",
      summary: "Resolved configuration (JSON)",
      language: "json",
      text: JSON.stringify(report.config ?? null, null, 2),
    }],
  });
  return { title: `Run ${report.name}`, sections, figures };
}

/** Backslash-escapes the characters Markdown would read as formatting. */
function md(text: string): string {
  return text.replace(/[\\`*_[\]|]|<(?=[A-Za-z/!?])|^[#>]/g, "\\$&").replace(/\r?\n/g, " ");
}

/**
 * Renders the document as GitHub-flavoured Markdown, figures linked by relative path.
 *
 * @param doc From {@link buildReportDocument}.
 * @returns The Markdown text.
 * @example
 * ```ts
 * import { buildReportDocument, renderMarkdown, type RunReport } from "./report.ts";
 * const report: RunReport = {
 *   name: "example",
 *   createdAt: "2025-01-01T12:00:00Z",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: { seed: 0 },
 *   timings: [{ stage: "total", seconds: 42 }],
 *   stage1History: [{
 *     epoch: 1,
 *     loss: 1.1,
 *     accuracy: 0.6,
 *     lr: 0.05,
 *     seconds: 20,
 *     imagesPerSecond: 400,
 *   }],
 *   classes: ["shirt", "bag", "boot"],
 *   trainCounts: [500, 50, 5],
 *   groups: ["many", "medium", "few"],
 *   thresholds: { many: 100, few: 20 },
 *   methods: [{
 *     name: "tau",
 *     label: "τ-norm (τ=1.0)",
 *     all: 0.7,
 *     many: 0.9,
 *     medium: 0.7,
 *     few: 0.5,
 *     perClass: [0.9, 0.7, 0.5],
 *     weightNorms: [1, 1, 1],
 *     chosenTau: 1,
 *     tauCurve: { tau: [0, 1, 2], valAccuracy: [0.6, 0.7, 0.65] },
 *     seconds: 0.2,
 *   }],
 * };
 * const markdown = renderMarkdown(buildReportDocument(report));
 * console.log(markdown.split("\n")[0]); // "# Run example"
 * console.log(markdown.includes("](figures/tau_curves.svg)")); // true
 * ```
 */
export function renderMarkdown(doc: ReportDocument): string {
  const out: string[] = [`# ${md(doc.title)}`, ""];
  for (const s of doc.sections) {
    out.push(`## ${md(s.heading)}`, "");
    for (const b of s.blocks) {
      switch (b.kind) {
        case "paragraph":
          out.push(md(b.text));
          break;
        case "facts":
          out.push(...b.items.map(([k, v]) => `- **${md(k)}**: ${md(v)}`));
          break;
        case "list":
          out.push(...b.items.map((item) => `- ${md(item)}`));
          break;
        case "table": {
          const t = b.table;
          const cell = (c: ReportCell) => (c.bold ? `**${md(c.text)}**` : md(c.text));
          out.push(`| ${t.header.map(md).join(" | ")} |`);
          out.push(`|${t.align.map((a) => (a === "right" ? " ---: " : " --- ")).join("|")}|`);
          for (const row of t.rows) out.push(`| ${row.map(cell).join(" | ")} |`);
          break;
        }
        case "figure": {
          const f = b.figure;
          out.push(`![Figure ${f.number}: ${md(f.title)}](${f.file})`, "");
          out.push(`*Figure ${f.number}. ${md(f.caption)}*`);
          break;
        }
        case "code":
          out.push(`${md(b.summary)}:`, "", "```" + b.language, b.text, "```");
          break;
      }
      out.push("");
    }
  }
  return out.join("\n");
}

/**
 * Writes `report.md`, `report.html` and `figures/*.svg` into `dir` (created if needed). Every
 * file goes through a temporary file and a rename, so a reader never sees half a file; figure
 * files of an earlier report that this one does not draw are removed.
 *
 * @param dir The run folder (e.g. runs/cpu-0).
 * @param report The run.
 * @returns The paths written.
 * @example
 * ```ts
 * import { type RunReport, writeReport } from "./report.ts";
 * const report: RunReport = {
 *   name: "example",
 *   createdAt: "2025-01-01T12:00:00Z",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: { seed: 0 },
 *   timings: [{ stage: "total", seconds: 42 }],
 *   stage1History: [{
 *     epoch: 1,
 *     loss: 1.1,
 *     accuracy: 0.6,
 *     lr: 0.05,
 *     seconds: 20,
 *     imagesPerSecond: 400,
 *   }],
 *   classes: ["shirt", "bag", "boot"],
 *   trainCounts: [500, 50, 5],
 *   groups: ["many", "medium", "few"],
 *   thresholds: { many: 100, few: 20 },
 *   methods: [{
 *     name: "tau",
 *     label: "τ-norm (τ=1.0)",
 *     all: 0.7,
 *     many: 0.9,
 *     medium: 0.7,
 *     few: 0.5,
 *     perClass: [0.9, 0.7, 0.5],
 *     weightNorms: [1, 1, 1],
 *     chosenTau: 1,
 *     tauCurve: { tau: [0, 1, 2], valAccuracy: [0.6, 0.7, 0.65] },
 *     seconds: 0.2,
 *   }],
 * };
 * const dir = await Deno.makeTempDir();
 * const files = await writeReport(dir, report);
 * console.log(files.html === `${dir}/report.html`); // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeReport(dir: string, report: RunReport): Promise<ReportFiles> {
  const doc = buildReportDocument(report);
  const figuresDir = `${dir}/figures`;
  await Deno.mkdir(figuresDir, { recursive: true });
  const written: string[] = [];
  for (const f of doc.figures) {
    const path = `${dir}/${f.file}`;
    await writeFileAtomic(path, f.svg, "figure");
    written.push(path);
  }
  for (const id of FIGURE_IDS) {
    if (doc.figures.some((f) => f.id === id)) continue;
    await Deno.remove(`${figuresDir}/${id}.svg`).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  const markdown = `${dir}/report.md`;
  const html = `${dir}/report.html`;
  await writeFileAtomic(markdown, renderMarkdown(doc), "report");
  await writeFileAtomic(html, renderHtml(doc), "report");
  return { markdown, html, figures: written };
}

/**
 * What the run knows that `metrics.json` does not.
 *
 * @example
 * ```ts
 * import type { RunInfo } from "./report.ts";
 * const run: RunInfo = {
 *   name: "cpu-20250101-120000",
 *   adapter: "llvmpipe (software fallback)",
 *   preset: "cpu",
 *   presetReason: "software adapter",
 *   config: { seed: 0 },
 *   classes: ["shirt", "bag", "boot"],
 * };
 * console.log(run.timings ?? []); // []
 * ```
 */
export interface RunInfo {
  /** Run name (the folder under runs/). */
  name: string;
  /** Default: the metrics' `created`. */
  createdAt?: string;
  /** The WebGPU adapter, saying whether it is a software fallback. */
  adapter: string;
  /** Preset name. */
  preset: string;
  /** Why this preset was used. */
  presetReason: string;
  /** The resolved configuration (any JSON value). */
  config: unknown;
  /** Wall time of each stage (default none). */
  timings?: StageTiming[];
  /** Stage-1 epochs (default none). */
  stage1History?: EpochRecord[];
  /** Class names; default the profile's `classNames`, else the class index. */
  classes?: readonly string[];
  /** Free-form remarks. */
  notes?: string[];
  /** The published protocol the run follows (lib/eval/published.ts), if any. */
  published?: PublishedProtocol | null;
}

/**
 * Maps stage 2's `metrics.json` (lib/eval/metrics.ts) and what the run knows into a
 * {@link RunReport}. Methods keep the file's order; a method whose row in the stage-2 table has
 * a tau curve (tau-norm, logit adjustment) gets the chosen tau in its label.
 *
 * @param metrics The parsed metrics file.
 * @param run Name, adapter, preset, config, timings and stage-1 history of the run.
 * @returns The report input.
 * @example
 * ```ts
 * import {
 *   groupsFor,
 *   METRICS_SCHEMA,
 *   METRICS_VERSION,
 *   type MetricsFile,
 *   splitMetrics,
 * } from "./metrics.ts";
 * import { fromMetrics } from "./report.ts";
 * const { thresholds, groups } = groupsFor([500, 50, 5]);
 * const test = splitMetrics(Int32Array.of(0, 1, 0), Int32Array.of(0, 1, 2), groups);
 * const file: MetricsFile = {
 *   schema: METRICS_SCHEMA,
 *   version: METRICS_VERSION,
 *   created: "2025-01-01T12:00:00Z",
 *   kit_version: "0.1.0",
 *   source: {
 *     features: "runs/example/features",
 *     checkpoint_sha256: "0".repeat(64),
 *     profile: {},
 *     backbone: "resnet8",
 *     feature_dim: 64,
 *     class_count: 3,
 *   },
 *   train_class_counts: [500, 50, 5],
 *   shot_thresholds: thresholds,
 *   shot_groups: groups,
 *   seed: 0,
 *   settings: {},
 *   methods: {
 *     joint: { label: "Joint", wall_ms: 12, val: test, test, weight_norms: [1.2, 1, 0.8] },
 *   },
 * };
 * const report = fromMetrics(file, {
 *   name: "example",
 *   adapter: "llvmpipe",
 *   preset: "smoke",
 *   presetReason: "chosen with --preset",
 *   config: {},
 * });
 * console.log(report.classes, report.methods[0].all.toFixed(4));
 * // ["class 0", "class 1", "class 2"] "0.6667"
 * ```
 */
export function fromMetrics(metrics: MetricsFile, run: RunInfo): RunReport {
  const counts = [...metrics.train_class_counts];
  const profileNames = metrics.source?.profile?.classNames;
  const classes = run.classes
    ? [...run.classes]
    : Array.isArray(profileNames) && profileNames.length === counts.length &&
        profileNames.every((n) => typeof n === "string")
    ? profileNames as string[]
    : counts.map((_, c) => `class ${c}`);
  const methods = Object.entries(metrics.methods).map(([name, m]): MethodReport => {
    const tau = m.tau ?? null;
    const row = methodRow(name);
    let label = row?.style.label ?? m.label;
    if (row?.tauCurve && tau !== null) label = `${label} (τ=${formatTau(tau)})`;
    return {
      name,
      label,
      all: m.test.all,
      many: m.test.many,
      medium: m.test.medium,
      few: m.test.few,
      perClass: [...m.test.per_class],
      weightNorms: m.weight_norms && m.weight_norms.length > 0 ? [...m.weight_norms] : null,
      chosenTau: tau,
      tauCurve: m.tau_curve && m.tau_curve.length > 0
        ? { tau: m.tau_curve.map((p) => p.tau), valAccuracy: m.tau_curve.map((p) => p.val_all) }
        : null,
      seconds: m.wall_ms / 1000,
      calibration: m.calibration ?? null,
    };
  });
  return {
    name: run.name,
    createdAt: run.createdAt ?? metrics.created,
    adapter: run.adapter,
    preset: run.preset,
    presetReason: run.presetReason,
    config: run.config,
    timings: run.timings ?? [],
    stage1History: run.stage1History ?? [],
    classes,
    trainCounts: counts,
    groups: [...metrics.shot_groups],
    thresholds: { ...metrics.shot_thresholds },
    methods,
    published: run.published ?? null,
    notes: metrics.skipped
      ? [
        ...(run.notes ?? []),
        ...Object.entries(metrics.skipped).map(([m, why]) => `Skipped ${m}: ${why}.`),
      ]
      : run.notes,
  };
}
