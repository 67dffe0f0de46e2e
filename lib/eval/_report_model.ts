/**
 * The report's document model: what a run reports ({@link RunReport} and its parts) and the
 * laid-out document ({@link ReportDocument}: sections of paragraphs, tables, figures and code)
 * that the Markdown and HTML writers render.
 *
 * @module
 */

import type { ShotThresholds } from "../data/profiles.ts";
import type { ShotGroup } from "../data/shot_groups.ts";
import type { EpochRecord } from "../train/stage1.ts";
import type { CalibrationMetrics } from "./metrics.ts";
import type { PublishedProtocol } from "./published.ts";

/**
 * Time spent in one stage of the run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSeconds } from "./_report_format.ts";
 * import type { StageTiming } from "./_report_model.ts";
 * const timing: StageTiming = { stage: "stage 1", seconds: 612 };
 * assert.equal(`${timing.stage}: ${formatSeconds(timing.seconds)}`, "stage 1: 10 min 12 s");
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
 * import assert from "node:assert/strict";
 * import type { TauCurve } from "./_report_model.ts";
 * const curve: TauCurve = { tau: [0, 0.5, 1], valAccuracy: [0.6, 0.66, 0.64] };
 * assert.equal(curve.tau[curve.valAccuracy.indexOf(Math.max(...curve.valAccuracy))], 0.5);
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
 * import assert from "node:assert/strict";
 * import { formatPercent } from "./_report_format.ts";
 * import type { MethodReport } from "./_report_model.ts";
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
 * assert.equal(formatPercent(crt.all), "75.12");
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
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { buildReportDocument } from "./_report_document.ts";
 * import type { RunReport } from "./_report_model.ts";
 * const report: RunReport = exampleRunReport();
 * assert.equal(buildReportDocument(report).title, "Run example");
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
 * import assert from "node:assert/strict";
 * import type { ReportCell } from "./_report_model.ts";
 * const best: ReportCell = { text: "75.12", bold: true };
 * assert.equal(best.bold ? `**${best.text}**` : best.text, "**75.12**");
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
 * import assert from "node:assert/strict";
 * import { renderMarkdown } from "./_report_markdown.ts";
 * import type { ReportTable } from "./_report_model.ts";
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
 * assert.match(markdown, /^\| cRT \| \*\*75\.12\*\* \|$/m);
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
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { reportFigures } from "./_report_figures.ts";
 * import type { ReportFigure } from "./_report_model.ts";
 * const figures: ReportFigure[] = reportFigures(exampleRunReport());
 * assert.equal(figures[0].file, "figures/accuracy_by_group.svg");
 * assert.equal(figures[0].number, 1);
 * assert.match(figures[0].svg, /^<svg /);
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
 * import assert from "node:assert/strict";
 * import { renderMarkdown } from "./_report_markdown.ts";
 * import type { ReportBlock } from "./_report_model.ts";
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
 * assert.match(markdown, /^- first note$/m);
 * assert.match(markdown, /^- \*\*adapter\*\*: llvmpipe$/m);
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
 * import assert from "node:assert/strict";
 * import { renderMarkdown } from "./_report_markdown.ts";
 * import type { ReportSection } from "./_report_model.ts";
 * const section: ReportSection = {
 *   id: "notes",
 *   heading: "Notes",
 *   blocks: [{ kind: "paragraph", text: "Nothing unusual." }],
 * };
 * const markdown = renderMarkdown({ title: "Run", sections: [section], figures: [] });
 * assert.match(markdown, /^## Notes\n\nNothing unusual\.$/m);
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
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { buildReportDocument } from "./_report_document.ts";
 * import type { ReportDocument } from "./_report_model.ts";
 * const doc: ReportDocument = buildReportDocument(exampleRunReport());
 * assert.equal(doc.sections[0].heading, "What ran");
 * assert.ok(doc.figures.length > 0 && doc.figures.every((f) => f.svg.length > 0));
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
 * Checks that every per-class list has one entry per class and that curves are consistent.
 *
 * @throws {RangeError} Naming the field and both lengths.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { checkRunReport } from "./_report_model.ts";
 * const report = exampleRunReport();
 * assert.doesNotThrow(() => checkRunReport(report));
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
