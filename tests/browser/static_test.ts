/// <reference lib="dom" />
/**
 * The built page as one static file opened from disk (file://, no server): dropped files run
 * every method (All equal to runStage2's in Deno within 0.05 points for Joint and NCM); without
 * classifier.arrow the methods built on it are skipped on request; files from two dumps get the
 * reader's mismatch message; without WebGPU the page shows the dump and says
 * what to do. Nothing is requested beyond the file itself.
 *
 * Without -A (the main test task) it runs again under `deno test -A` (see _page.ts).
 */

import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { readFeatureDir } from "../../lib/features/load.ts";
import { writeSyntheticFeatureDir } from "../../lib/features/synthetic.ts";
import { runStage2 } from "../../lib/stage2/run.ts";
import { buildPage } from "../../scripts/build_web.ts";
import { launchChromium } from "../../scripts/_chromium.ts";
import { testGpu } from "../_gpu.ts";
import { browserTest, type PageView } from "./_page.ts";

const NAME = "the static page runs dropped files (also without a classifier), refuses mixed " +
  "dumps and explains a missing WebGPU";
const FILES = ["train", "val", "test", "classifier"].map((s) => `${s}.arrow`);

browserTest(import.meta.url, NAME, async (chromium) => {
  const root = await Deno.makeTempDir({ prefix: "ltkit_static_" });
  const browser = await launchChromium(chromium);
  try {
    const options = { trainCounts: [200, 80, 30, 12, 5], valPerClass: 8, testPerClass: 16 };
    await writeSyntheticFeatureDir(`${root}/a`, { ...options, featureDim: 10 });
    await writeSyntheticFeatureDir(`${root}/b`, { ...options, featureDim: 9 });
    const deno = (await runStage2(await readFeatureDir(`${root}/a`), {
      gpu: (await testGpu())!,
      methods: ["joint", "ncm"],
    })).metrics;
    await Deno.writeTextFile(`${root}/ltkit.html`, (await buildPage()).html);
    const url = pathToFileURL(`${root}/ltkit.html`).href;

    const open = async (withoutWebGpu: boolean) => {
      const page = await browser.newPage();
      const requests: string[] = [];
      const problems: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      page.on("pageerror", (e) => problems.push(e.message));
      if (withoutWebGpu) {
        await page.addInitScript(() =>
          Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined })
        );
      }
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.state === "waiting");
      return { page, requests, problems };
    };
    const view = (page: Awaited<ReturnType<typeof open>>["page"]) =>
      page.evaluate(() => (globalThis as unknown as { ltkitView: PageView }).ltkitView);
    const settle = (page: Awaited<ReturnType<typeof open>>["page"]) =>
      page.waitForFunction(
        () => ["done", "error", "no-webgpu"].includes(document.body.dataset.state ?? ""),
        null,
        { timeout: 180_000 },
      );

    // Dropped (chosen) files: every method runs, as in Deno.
    const good = await open(false);
    await good.page.setInputFiles("#files", FILES.map((f) => `${root}/a/${f}`));
    await settle(good.page);
    const state = await view(good.page);
    assert.equal(state.state, "done", state.message);
    const methods = await good.page.evaluate(() =>
      (globalThis as unknown as {
        ltkitView: { metrics: { methods: Record<string, { test: { all: number } }> } };
      })
        .ltkitView.metrics.methods
    );
    for (const name of ["joint", "ncm"]) {
      const diff = Math.abs(methods[name].test.all - deno.methods[name].test.all);
      assert.ok(diff <= 0.0005, `${name}: diff ${diff}`);
    }
    assert.deepEqual(good.requests, [url], "the page requested something beyond itself");
    assert.deepEqual(good.problems, []);

    // Without classifier.arrow: on request, the methods built on it are skipped and say so.
    const headless = await open(false);
    await headless.page.setInputFiles(
      "#files",
      FILES.filter((f) => f !== "classifier.arrow").map((f) => `${root}/a/${f}`),
    );
    await headless.page.click("#no-classifier");
    await settle(headless.page);
    assert.equal((await view(headless.page)).state, "done", (await view(headless.page)).message);
    const run = await headless.page.evaluate(() => {
      const m = (globalThis as unknown as {
        ltkitView: { metrics: { methods: object; skipped?: Record<string, string> } };
      }).ltkitView.metrics;
      return { methods: Object.keys(m.methods), skipped: Object.keys(m.skipped ?? {}) };
    });
    assert.deepEqual(run.methods, ["ncm", "ncm_l2", "crt", "bsm"]);
    assert.deepEqual(run.skipped, ["joint", "tau", "lws", "la"]);
    assert.match(
      await headless.page.locator('tr[data-method="joint"]').innerText(),
      /skipped: needs the model's linear classifier/,
    );

    // Files of two dumps: the reader's message.
    const mixed = await open(false);
    await mixed.page.setInputFiles("#files", [
      ...FILES.filter((f) => f !== "test.arrow").map((f) => `${root}/a/${f}`),
      `${root}/b/test.arrow`,
    ]);
    await settle(mixed.page);
    assert.equal(
      (await view(mixed.page)).message,
      "Cannot use features in the chosen files: the feature dimension differs between files: " +
        "train.arrow has 10, test.arrow has 9",
    );

    // No WebGPU: the dump is shown, and the message says what to do.
    const bare = await open(true);
    await bare.page.setInputFiles("#files", FILES.map((f) => `${root}/a/${f}`));
    await settle(bare.page);
    const none = await view(bare.page);
    assert.equal(none.state, "no-webgpu");
    assert.match(none.message, /^Cannot run stage 2: this browser has no WebGPU/);
    assert.equal(await bare.page.locator("#dump").isVisible(), true);
    assert.match(await bare.page.locator("#dump-info").innerText(), /feature dimension\s+10/);
  } finally {
    await browser.close();
    await Deno.remove(root, { recursive: true });
  }
});
