/**
 * Writes a run's report files: `report.md`, `report.html` and `figures/*.svg`.
 *
 * @module
 */

import { writeFileAtomic } from "../io/_atomic.ts";
import { renderHtml } from "./_report_html.ts";
import { buildReportDocument } from "./_report_document.ts";
import { FIGURE_IDS } from "./_report_figures.ts";
import { renderMarkdown } from "./_report_markdown.ts";
import type { RunReport } from "./_report_model.ts";

/**
 * Paths written by {@link writeReport}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { type ReportFiles, writeReport } from "./_report_write.ts";
 * const report = exampleRunReport();
 * const dir = await Deno.makeTempDir();
 * const files: ReportFiles = await writeReport(dir, report);
 * assert.equal(files.markdown, `${dir}/report.md`);
 * assert.equal(files.figures.length, 5);
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
 * Writes `report.md`, `report.html` and `figures/*.svg` into `dir` (created if needed). Every
 * file goes through a temporary file and a rename, so a reader never sees half a file; figure
 * files of an earlier report that this one does not draw are removed.
 *
 * @param dir The run folder (e.g. runs/cpu-0).
 * @param report The run.
 * @returns The paths written.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { writeReport } from "./_report_write.ts";
 * const report = exampleRunReport();
 * const dir = await Deno.makeTempDir();
 * const files = await writeReport(dir, report);
 * assert.equal(files.html, `${dir}/report.html`);
 * assert.match(await Deno.readTextFile(files.html), /^<!DOCTYPE html>/);
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
