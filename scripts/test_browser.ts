/**
 * Runs the kernel test suite (tests/browser/_kernel_suite.ts) in headless Chromium's WebGPU
 * (Dawn/Tint), so every kernel is known to compile and agree with its CPU reference on a second
 * WebGPU implementation. Prints each test, then `N passed, N failed`; exits 1 on any failure.
 *
 * ```text
 * deno run -A scripts/test_browser.ts [--filter TEXT]
 *
 * -A because playwright-core reads /proc/sys (a WSL check), which Deno grants only with -A.
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath as fromFileUrl } from "node:url";
import { bundle } from "./_bundle.ts";
import { findChromium, launchChromium } from "./_chromium.ts";
import type { ShimResult } from "../tests/browser/_deno_shim.ts";

const SUITE = fromFileUrl(new URL("../tests/browser/_kernel_suite.ts", import.meta.url));
const IMPORT_MAP = fromFileUrl(new URL("../tests/browser/import_map.json", import.meta.url));
const PAGE = `<!doctype html><meta charset="utf-8"><title>ltkit kernel tests</title>` +
  `<script type="module" src="/suite.js"></script>`;

/**
 * Bundles the suite, serves it on 127.0.0.1 and runs it in Chromium.
 *
 * @param filter Only tests whose name contains this text.
 * @param print Where each line goes.
 * @returns Every outcome.
 */
export async function runBrowserSuite(
  filter = "",
  print: (line: string) => void = console.log,
): Promise<ShimResult[]> {
  const chromium = await findChromium();
  if (chromium === null) {
    throw new Error(
      "Cannot run the browser tests: no Chromium (run `bash scripts/setup.sh --test`, or set " +
        "CHROMIUM=/path/to/chromium)",
    );
  }
  const start = performance.now();
  const script = await bundle(SUITE, { importMap: IMPORT_MAP });
  print(`bundled the suite in ${(performance.now() - start).toFixed(0)} ms`);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/") return new Response(PAGE, { headers: { "content-type": "text/html" } });
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    if (path === "/suite.js") {
      return new Response(script, { headers: { "content-type": "text/javascript" } });
    }
    return new Response("not found", { status: 404 });
  });
  const browser = await launchChromium(chromium);
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(`console: ${m.text()}`);
    });
    await page.exposeFunction("ltkitReport", (r: ShimResult) => {
      const ms = `${r.ms.toFixed(0)} ms`;
      if (r.status === "failed") print(`FAILED ${r.name} (${ms})\n${r.error}`);
      else print(`${r.status === "passed" ? "ok" : "ignored"} ${r.name} (${ms})`);
    });
    await page.goto(`http://127.0.0.1:${server.addr.port}/`);
    await page.waitForFunction(() => "ltkitRunTests" in globalThis || "ltkitFailed" in globalThis, {
      timeout: 120_000,
    }).catch((error) => {
      const why = pageErrors.join("; ") || (error instanceof Error ? error.message : `${error}`);
      throw new Error(`Cannot load the test suite in Chromium: ${why}`);
    });
    if (pageErrors.length > 0) {
      throw new Error(`Cannot load the test suite in Chromium: ${pageErrors.join("; ")}`);
    }
    page.setDefaultTimeout(0);
    return await page.evaluate(async (filter) => {
      const g = globalThis as unknown as {
        ltkitRunTests: (report: unknown, filter: string) => Promise<ShimResult[]>;
        ltkitReport: unknown;
      };
      return await g.ltkitRunTests(g.ltkitReport, filter);
    }, filter);
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { filter: { type: "string" } } });
  const start = performance.now();
  const results = await runBrowserSuite(values.filter ?? "");
  const count = (s: ShimResult["status"]) => results.filter((r) => r.status === s).length;
  const failed = count("failed");
  console.log(
    `\n${count("passed")} passed, ${failed} failed` +
      (count("ignored") > 0 ? `, ${count("ignored")} ignored` : "") +
      ` (${((performance.now() - start) / 1000).toFixed(1)} s)`,
  );
  if (failed > 0 || results.length === 0) Deno.exit(1);
}
