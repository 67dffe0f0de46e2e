/**
 * The report as GitHub-flavoured Markdown (`report.md`), rendered from a {@link ReportDocument}.
 *
 * @module
 */

import type { ReportCell, ReportDocument } from "./_report_model.ts";

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
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { buildReportDocument } from "./_report_document.ts";
 * import { renderMarkdown } from "./_report_markdown.ts";
 * const report = exampleRunReport();
 * const markdown = renderMarkdown(buildReportDocument(report));
 * assert.equal(markdown.split("\n")[0], "# Run example");
 * assert.ok(markdown.includes("](figures/tau_curves.svg)"));
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
