/**
 * The stage-2 page in headless Chromium's WebGPU: it loads a real dump from `deno task view`'s
 * server, runs every method, and its figures equal runStage2's in Deno on the same dump
 * (closed-form methods within 0.05 points of All, trained ones within 0.3); the tau slider
 * re-evaluates tau-norm and logit adjustment; re-training cRT and LWS with 2 epochs matches
 * runStage2 with 2 epochs; hovering a class shows its counts; a bad file gets the reader's
 * message; the page requests nothing beyond its origin and breaks no CSP rule. Keeps a
 * screenshot in tests/browser/out/view.png.
 *
 * Without -A (the main test task) it runs again under `deno test -A` (see _page.ts); without
 * Chromium it is skipped loudly, except under CI=true.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import type { MethodMetrics, MetricsFile } from "../../lib/eval/metrics.ts";
import { readFeatureDir } from "../../lib/features/load.ts";
import { decodeFeatures } from "../../lib/features/reader.ts";
import { writeSyntheticFeatureDir } from "../../lib/features/synthetic.ts";
import { runStage2 } from "../../lib/stage2/run.ts";
import { launchChromium } from "../../scripts/_chromium.ts";
import { serveView } from "../../scripts/view.ts";
import { testGpu } from "../_gpu.ts";
import { browserTest } from "./_page.ts";

const OUT = fileURLToPath(new URL("./out/", import.meta.url));

/** Closed-form methods agree to 0.05 points of All; trained ones to 0.3 (different adapters). */
const TOLERANCE: Record<string, number> = {
  joint: 0.0005,
  ncm: 0.0005,
  ncm_l2: 0.0005,
  tau: 0.0005,
  la: 0.0005,
  crt: 0.003,
  lws: 0.003,
  bsm: 0.003,
};

const NAME = "the stage-2 page matches runStage2, follows the tau slider and the cRT/LWS " +
  "settings, shows a class on hover and reports bad files";

browserTest(import.meta.url, NAME, async (chromium) => {
  const dir = await Deno.makeTempDir({ prefix: "ltkit_view_" });
  const gpu = (await testGpu())!;
  await writeSyntheticFeatureDir(dir, {
    trainCounts: [400, 250, 150, 90, 60, 40, 25, 15, 10, 6],
    featureDim: 12,
    valPerClass: 10,
    testPerClass: 20,
  });
  const features = await readFeatureDir(dir);
  const deno = (await runStage2(features, { gpu, seed: 0 })).metrics;
  const grid = { start: 0.5, stop: 0.5, step: 1 };
  const denoHalf =
    (await runStage2(features, { gpu, seed: 0, methods: ["tau", "la"], tauGrid: grid }))
      .metrics;
  const { server, url } = await serveView({ folder: dir });
  const browser = await launchChromium(chromium);
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 1400 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" || /Content.Security.Policy/i.test(m.text())) {
        problems.push(`console ${m.type()}: ${m.text()}`);
      }
    });
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(url);
    await page.waitForFunction(
      () => ["done", "error", "no-webgpu"].includes(document.body.dataset.state ?? ""),
      null,
      { timeout: 180_000 },
    );
    const state = await page.evaluate(() => {
      const v = (globalThis as unknown as { ltkitView: { state: string; message: string } })
        .ltkitView;
      return `${v.state}: ${v.message}`;
    });
    assert.match(state, /^done: /, state);
    const metrics = await page.evaluate(() =>
      (globalThis as unknown as { ltkitView: { metrics: MetricsFile } }).ltkitView.metrics
    );
    assert.deepEqual(Object.keys(metrics.methods), Object.keys(deno.methods));
    for (const [name, want] of Object.entries(deno.methods)) {
      const got = metrics.methods[name];
      const diff = Math.abs(got.test.all - want.test.all);
      assert.ok(
        diff <= TOLERANCE[name],
        `${name}: page All ${got.test.all} vs Deno ${want.test.all} (diff ${diff})`,
      );
      if (want.tau !== undefined) assert.equal(got.tau, want.tau, `${name}: tau`);
    }
    await page.screenshot({ path: `${OUT}view.png`, fullPage: true }).catch(async () => {
      await Deno.mkdir(OUT, { recursive: true });
      await page.screenshot({ path: `${OUT}view.png`, fullPage: true });
    });

    // The tau slider: tau-norm and logit adjustment at 0.5, as runStage2 gives with that tau.
    await page.evaluate(() => {
      const input = document.getElementById("tau") as HTMLInputElement;
      input.value = "0.5";
      input.dispatchEvent(new Event("input"));
    });
    await page.waitForFunction(() => document.body.dataset.tau === "0.5", null, {
      timeout: 60_000,
    });
    const half = await page.evaluate(() =>
      (globalThis as unknown as { ltkitView: { tauMetrics: Record<string, MethodMetrics> } })
        .ltkitView.tauMetrics
    );
    for (const name of ["tau", "la"]) {
      assert.equal(half[name].tau, 0.5);
      const want = denoHalf.methods[name].test;
      assert.ok(Math.abs(half[name].test.all - want.all) <= 0.0005, `${name} at tau 0.5`);
      half[name].test.per_class.forEach((a, c) =>
        assert.ok(Math.abs((a ?? 0) - (want.per_class[c] ?? 0)) <= 0.051, `${name} class ${c}`)
      );
    }
    assert.equal(await page.locator("line.marker").getAttribute("data-tau"), "0.5");
    assert.match(await page.locator('tr[data-method="tau"]').innerText(), /\b0\.5\b/);

    // Hovering a class shows its counts and accuracies.
    await page.hover('#tail rect[data-class="3"]');
    const tip = await page.locator("#tip").innerText();
    assert.match(tip, /class 3 \(few\)/);
    assert.match(tip, /train 90, val 10, test 20/);
    assert.match(tip, /cRT: \d+\.\d\d%/);

    // Re-training cRT and LWS with 2 epochs gives runStage2's figures with 2 epochs.
    await page.fill("#epochs", "2");
    await page.click("#rerun");
    await page.waitForFunction(() => document.body.dataset.state === "training", null, {
      timeout: 10_000,
    }).catch(() => {}); // may already be done
    await page.waitForFunction(() => document.body.dataset.state === "done", null, {
      timeout: 120_000,
    });
    const retrained = await page.evaluate(() =>
      (globalThis as unknown as { ltkitView: { metrics: MetricsFile } }).ltkitView.metrics
    );
    const short = (await runStage2(features, { gpu, seed: 0, epochs: 2, methods: ["crt", "lws"] }))
      .metrics;
    for (const name of ["crt", "lws"]) {
      const diff = Math.abs(retrained.methods[name].test.all - short.methods[name].test.all);
      assert.ok(diff <= TOLERANCE[name], `${name} with 2 epochs: diff ${diff}`);
    }

    // A bad file gets the reader's message, word for word.
    const bad = new TextEncoder().encode("label,feature\n1,2\n");
    let expected = "";
    try {
      decodeFeatures(bad, "bad.arrow");
    } catch (error) {
      expected = (error as Error).message;
    }
    assert.match(expected, /^Cannot read bad\.arrow: /);
    await page.setInputFiles("#files", {
      name: "bad.arrow",
      mimeType: "application/octet-stream",
      buffer: Buffer.from(bad),
    });
    await page.waitForFunction(() => document.body.dataset.state === "error", null, {
      timeout: 30_000,
    });
    assert.equal((await page.locator("#status").innerText()).trim(), expected);

    const origin = new URL(url).origin;
    const outside = requests.filter((r) => new URL(r).origin !== origin);
    assert.deepEqual(outside, [], "requests beyond the page's origin");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
