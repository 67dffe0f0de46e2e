/**
 * The experiment report of a training run: `report.md`, `report.html` (one self-contained page)
 * and SVG figures in `figures/`, all from one {@link RunReport}.
 *
 * The report is first laid out as a small document model ({@link ReportDocument}: sections of
 * paragraphs, tables, figures and code) that both the Markdown and the HTML writers render, so
 * the two files always say the same thing. This module is the report's public face; each concern
 * has its own internal module, re-exported here: the model (_report_model.ts), number formats
 * (_report_format.ts), the figures (_report_figures.ts), the layout (_report_document.ts), the
 * Markdown (_report_markdown.ts), the HTML page (_report_html.ts), the files (_report_write.ts)
 * and the input from `metrics.json` (_report_from_metrics.ts).
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
} from "./_report_model.ts";
export { formatPercent, formatSeconds, formatTau } from "./_report_format.ts";
export { FIGURE_IDS, reportFigures } from "./_report_figures.ts";
export { buildReportDocument } from "./_report_document.ts";
export { renderMarkdown } from "./_report_markdown.ts";
export { type ReportFiles, writeReport } from "./_report_write.ts";
export { fromMetrics, type RunInfo } from "./_report_from_metrics.ts";
export { renderHtml } from "./_report_html.ts";
