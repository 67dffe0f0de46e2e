/**
 * Lays a run's report out as a {@link ReportDocument}: what ran, results, published figures,
 * per-class accuracy, calibration, stage 1, timings, notes and the configuration.
 *
 * @module
 */

import type { ShotGroup } from "../data/shot_groups.ts";
import { ECE_BINS } from "./metrics.ts";
import { publishedBlocks } from "./published.ts";
import { formatPercent, formatSeconds, formatTau, GROUP_TITLES } from "./_report_format.ts";
import { reportFigures } from "./_report_figures.ts";
import {
  checkRunReport,
  type ReportBlock,
  type ReportCell,
  type ReportDocument,
  type ReportFigure,
  type ReportSection,
  type RunReport,
} from "./_report_model.ts";

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
 * @returns The document that {@link renderMarkdown} and renderHtml (_report_html.ts) render.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { buildReportDocument } from "./_report_document.ts";
 * const report = exampleRunReport();
 * const doc = buildReportDocument(report);
 * assert.deepEqual(
 *   doc.sections.map((s) => s.heading),
 *   ["What ran", "Results", "Per-class test accuracy", "Stage 1", "Timings", "Configuration"],
 * );
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
