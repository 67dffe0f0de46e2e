/**
 * The report as one self-contained HTML page: inline CSS, figures as inline SVG, no scripts and
 * no external requests (a Content-Security-Policy forbids them). Rendered from the same
 * {@link ReportDocument} as the Markdown, not converted from it.
 *
 * @module
 */

import type { ReportBlock, ReportCell, ReportDocument } from "./_report_model.ts";

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./_report_html.ts";
 * assert.equal(escapeHtml(`<b> & "x"`), "&lt;b&gt; &amp; &quot;x&quot;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "#39" }[c]};`,
  );
}

const CSS = `
:root { color-scheme: light; }
body { margin: 0; background: #fafafa; color: #1f1f1f; line-height: 1.5;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 28px 64px; background: #ffffff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
nav ol { margin: 4px 0 0; padding-left: 20px; columns: 2; }
a { color: #0b5cad; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; }
.table { overflow-x: auto; margin: 12px 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e3e3; white-space: nowrap; }
th { background: #f2f4f7; border-bottom: 2px solid #c9ced6; white-space: normal;
  vertical-align: bottom; }
td.r, th.r { text-align: right; }
td.l, th.l { text-align: left; }
tbody tr:hover { background: #f7f9fc; }
strong { font-weight: 700; }
figure { margin: 20px 0; }
figure svg { display: block; max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #555; margin-top: 6px; }
details { margin: 10px 0; }
summary { cursor: pointer; font-weight: 600; }
pre { background: #f5f5f5; padding: 12px; overflow-x: auto; font-size: 13px; border-radius: 4px; }
`.trim();

function cell(tag: "td" | "th", c: ReportCell, align: string): string {
  const text = escapeHtml(c.text);
  return `<${tag} class="${align === "right" ? "r" : "l"}">${
    c.bold ? `<strong>${text}</strong>` : text
  }</${tag}>`;
}

function block(b: ReportBlock): string {
  switch (b.kind) {
    case "paragraph":
      return `<p>${escapeHtml(b.text)}</p>`;
    case "facts":
      return `<dl>${
        b.items.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")
      }</dl>`;
    case "list":
      return `<ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join("")}</ul>`;
    case "table": {
      const t = b.table;
      const head = t.header.map((h, i) => cell("th", { text: h }, t.align[i])).join("");
      const rows = t.rows.map((r) =>
        `<tr>${r.map((c, i) => cell("td", c, t.align[i])).join("")}</tr>`
      );
      return `<div class="table"><table><thead><tr>${head}</tr></thead>` +
        `<tbody>\n${rows.join("\n")}\n</tbody></table></div>`;
    }
    case "figure": {
      const f = b.figure;
      // The SVG is our own output (lib/eval/figures.ts), already escaped, so it goes in as is.
      return `<figure id="figure-${escapeHtml(f.id)}" data-file="${escapeHtml(f.file)}">\n` +
        `${f.svg.trim()}\n<figcaption><strong>Figure ${f.number}.</strong> ` +
        `${escapeHtml(f.caption)}</figcaption>\n</figure>`;
    }
    case "code":
      return `<details><summary>${escapeHtml(b.summary)}</summary>` +
        `<pre><code class="language-${escapeHtml(b.language)}">${escapeHtml(b.text)}</code></pre>` +
        `</details>`;
  }
}

/**
 * Renders the report as a self-contained HTML page.
 *
 * @param doc From buildReportDocument (_report_document.ts).
 * @returns The HTML text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleRunReport } from "./_example.ts";
 * import { renderHtml } from "./_report_html.ts";
 * import { buildReportDocument } from "./_report_document.ts";
 * const report = exampleRunReport();
 * const html = renderHtml(buildReportDocument(report));
 * assert.ok(html.startsWith("<!DOCTYPE html>"));
 * assert.ok(!html.includes("<script"));
 * ```
 */
export function renderHtml(doc: ReportDocument): string {
  const nav = doc.sections.map((s) =>
    `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.heading)}</a></li>`
  )
    .join("");
  const body = doc.sections.map((s) =>
    `<section id="${escapeHtml(s.id)}">\n<h2>${escapeHtml(s.heading)}</h2>\n` +
    `${s.blocks.map(block).join("\n")}\n</section>`
  ).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(doc.title)}</title>
<style>
${CSS}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(doc.title)}</h1>
<nav><ol>${nav}</ol></nav>
${body}
</main>
</body>
</html>
`;
}
