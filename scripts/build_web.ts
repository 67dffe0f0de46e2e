/**
 * Builds the stage-2 page (web/) into one self-contained HTML file: web/main.ts and everything
 * it imports (the kit's modules, apache-arrow, the WGSL kernels as text) bundled by
 * `deno bundle` and inlined, with a Content-Security-Policy that allows exactly that script and
 * that style sheet (by SHA-256) and requests to its own origin only.
 *
 * ```text
 * deno task build:web [--out web/dist/ltkit.html]
 * ```
 *
 * The file works opened straight from disk (drop the .arrow files onto it) or served by
 * `deno task view`, which builds the same page on the fly.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../lib/io/_atomic.ts";
import { bundle } from "./_bundle.ts";

const WEB = new URL("../web/", import.meta.url);

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/**
 * The page and its policy.
 *
 * @example
 * ```ts
 * import type { BuiltPage } from "./build_web.ts";
 * const page: BuiltPage = { html: "<!doctype html>", csp: "default-src 'none'" };
 * console.log(page.csp.startsWith("default-src")); // true
 * ```
 */
export interface BuiltPage {
  /** The whole HTML file. */
  html: string;
  /** Its Content-Security-Policy (also in a meta element of the file). */
  csp: string;
}

/**
 * Bundles web/main.ts and fills web/index.html's placeholders.
 *
 * @param minify Minify the script (default true).
 * @returns The page.
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { buildPage } from "./build_web.ts";
 * const { html, csp } = await buildPage();
 * ok(html.includes("@compute") && csp.includes("script-src 'sha256-"));
 * ```
 */
export async function buildPage(minify = true): Promise<BuiltPage> {
  const [template, style, script] = await Promise.all([
    Deno.readTextFile(new URL("index.html", WEB)),
    Deno.readTextFile(new URL("style.css", WEB)),
    bundle(fileURLToPath(new URL("main.ts", WEB)), { minify }),
  ]);
  // An inline script ends at the first "</script"; the bundle's strings must not hold one.
  const safe = script.replace(/<\/(script)/gi, "<\\/$1");
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${await sha256(safe)}'`,
    `style-src 'sha256-${await sha256(style)}'`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  // The hashes cover the element's whole text, so the placeholders' elements are replaced whole
  // (deno fmt indents their contents).
  const html = template.replace("%CSP%", () => csp)
    .replace(/<style>\s*%STYLE%\s*<\/style>/, () => `<style>${style}</style>`)
    .replace(
      /<script type="module">\s*\/\* %SCRIPT% \*\/\s*<\/script>/,
      () => `<script type="module">${safe}</script>`,
    );
  if (html.includes("%STYLE%") || html.includes("%SCRIPT%")) {
    throw new Error("Cannot build the page: web/index.html lost its %STYLE% or %SCRIPT% element");
  }
  return { html, csp };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string", default: "web/dist/ltkit.html" } },
  });
  const { html } = await buildPage();
  const out = values.out!;
  await Deno.mkdir(out.replace(/\/[^/]*$/, "") || ".", { recursive: true });
  await writeFileAtomic(out, new TextEncoder().encode(html), "the stage-2 page");
  console.log(
    `wrote ${out} (${(html.length / 1024).toFixed(0)} KiB); open it in a browser with WebGPU`,
  );
}
