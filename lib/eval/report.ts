/**
 * The experiment report of a training run: `report.md`, `report.html` (one self-contained page)
 * and SVG figures in `figures/`, all from one {@link RunReport}.
 *
 * The report is first laid out as a small document model ({@link ReportDocument}: sections of
 * paragraphs, tables, figures and code) that both the Markdown and the HTML writers render, so
 * the two files always say the same thing. Each concern has its own module, re-exported here:
 * the model (report_model.ts), number formats (report_format.ts), the figures
 * (report_figures.ts), the layout (report_document.ts), the Markdown (report_markdown.ts), the
 * files (report_write.ts) and the input from `metrics.json` (report_from_metrics.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { buildReportDocument, renderMarkdown } from "./report.ts";
 * const markdown = renderMarkdown(buildReportDocument(exampleRunReport()));
 * assert.equal(markdown.split("\n")[0], "# Run example");
 * ```
 *
 * @module
 */

export type { PublishedProtocol } from "./published.ts";
export {
  checkRunReport,
  type MethodReport,
  type ReportBlock,
  type ReportCell,
  type ReportDocument,
  type ReportFigure,
  type ReportSection,
  type ReportTable,
  type RunReport,
  type StageTiming,
  type TauCurve,
} from "./report_model.ts";
export { formatPercent, formatSeconds, formatTau } from "./report_format.ts";
export { FIGURE_IDS, reportFigures } from "./report_figures.ts";
export { buildReportDocument } from "./report_document.ts";
export { renderMarkdown } from "./report_markdown.ts";
export { type ReportFiles, writeReport } from "./report_write.ts";
export { fromMetrics, type RunInfo } from "./report_from_metrics.ts";
